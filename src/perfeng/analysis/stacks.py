"""Reading a sampled profile: which functions hold the CPU, and where threads wait.

Pure functions over ``model.watch.Profile``. A frame is py-spy's ``function (path:line)``.
Shares follow the usual profiler definitions (as in py-spy ``top`` and pyinstrument):

- *own* share of a function: samples with it as the leaf frame / all samples looked at;
- *total* share: samples with it anywhere on the stack (counted once a sample) / all.

Waiting samples are the wall-clock samples (every thread, py-spy ``--idle``) less the CPU
samples of the same stack: off-CPU time, the basis of off-CPU analysis (Brendan Gregg,
"Off-CPU Analysis"). Threads idling *for work* (an event loop in its selector, a pool
worker on its queue) are not the waiting that slows requests, so stacks whose leaf is one of
those idle points are set aside; the rest is attributed to its deepest application frame.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from perfeng.model.watch import Frame, Profile, Stack, parse_frame

# (file ending, function): where threads sit while they have nothing to do.
IDLE_POINTS = frozenset(
    {
        ("asyncio/runners.py", "Runner.run"),
        ("asyncio/runners.py", "run"),
        ("asyncio/base_events.py", "BaseEventLoop.run_forever"),
        ("asyncio/base_events.py", "BaseEventLoop._run_once"),
        ("asyncio/base_events.py", "run_forever"),
        ("asyncio/base_events.py", "_run_once"),
        ("selectors.py", "EpollSelector.select"),
        ("selectors.py", "PollSelector.select"),
        ("selectors.py", "select"),
        ("concurrent/futures/thread.py", "_worker"),
        ("threading.py", "Condition.wait"),
        ("threading.py", "Event.wait"),
        ("threading.py", "wait"),
        ("threading.py", "Thread._wait_for_tstate_lock"),
        ("threading.py", "Thread.join"),
        ("queue.py", "Queue.get"),
        ("queue.py", "get"),
        ("socketserver.py", "BaseServer.serve_forever"),
        ("socketserver.py", "serve_forever"),
        ("gunicorn/arbiter.py", "Arbiter.sleep"),
        ("gunicorn/workers/sync.py", "SyncWorker.wait"),
        ("gunicorn/workers/gthread.py", "ThreadWorker.run"),
        ("uvicorn/server.py", "Server.main_loop"),
        ("uvicorn/supervisors/multiprocess.py", "Multiprocess.run"),
    }
)


def idle_point(frame: Frame) -> bool:
    """A library frame (never the application's own file) at one of the idle points."""
    path = frame.file.replace("\\", "/")
    return frame.library and any(
        frame.function == fn and (path == end or path.endswith("/" + end))
        for end, fn in IDLE_POINTS
    )


@dataclass(frozen=True)
class Share:
    frame: Frame
    own: float
    total: float


@dataclass(frozen=True)
class Hotspots:
    samples: int
    shares: tuple[Share, ...]  # highest own share first


def _code_frames(profile: Profile, stack: Stack) -> list[Frame]:
    frames = [parse_frame(profile.frames[i]) for i in stack.frames]
    return [f for f in frames if not f.pseudo]


def _select(profile: Profile, stages: Iterable[int] | None) -> list[Stack]:
    if stages is None:
        return list(profile.stacks)
    wanted = set(stages)
    return [s for s in profile.stacks if s.stage in wanted]


def stages_within(profile: Profile, start_s: float, end_s: float) -> list[int]:
    """The stages that overlap a window of the run (seconds from its start)."""
    return [s.index for s in profile.stages if s.start_s < end_s and s.end_s > start_s]


def _by_function(weighted: list[tuple[list[Frame], int]], key_line: bool) -> Hotspots:
    total = sum(w for _, w in weighted)
    own: dict[Frame, int] = {}
    anywhere: dict[Frame, int] = {}
    for frames, weight in weighted:
        if not frames or weight <= 0:
            continue
        keyed = [f if key_line else Frame(f.function, f.file, None) for f in frames]
        own[keyed[-1]] = own.get(keyed[-1], 0) + weight
        for frame in set(keyed):
            anywhere[frame] = anywhere.get(frame, 0) + weight
    if total == 0:
        return Hotspots(0, ())
    shares = [Share(f, own.get(f, 0) / total, anywhere[f] / total) for f in anywhere]
    shares.sort(key=lambda s: (-s.own, -s.total, s.frame.function))
    return Hotspots(total, tuple(shares))


def cpu_hotspots(profile: Profile, stages: Iterable[int] | None = None) -> Hotspots:
    """Where the CPU samples are, by function (lines merged)."""
    weighted = [(_code_frames(profile, s), s.cpu) for s in _select(profile, stages)]
    return _by_function(weighted, key_line=False)


def waiting_spots(profile: Profile, stages: Iterable[int] | None = None) -> Hotspots:
    """Where threads wait inside the application (off-CPU samples), by function and line."""
    weighted: list[tuple[list[Frame], int]] = []
    scale = profile.rate_hz / profile.wall_rate_hz if profile.wall_rate_hz else 1.0
    for stack in _select(profile, stages):
        waiting = _off_cpu(stack, scale)
        frames = _code_frames(profile, stack)
        if waiting <= 0 or not frames or idle_point(frames[-1]):
            continue
        app = _request_frame(frames)
        if app is not None:
            weighted.append((frames[: app + 1], waiting))
    return _by_function(weighted, key_line=True)


def _off_cpu(stack: Stack, scale: float = 1.0) -> int:
    """Wall samples beyond the CPU samples of the same stack, less two standard deviations of
    the difference of two independent Poisson counts: the two samplers never sample at the
    same instant, so a busy stack shows a few "waiting" samples by chance alone. Wall counts
    taken at a lower rate were scaled up by ``scale``, and their variance with it."""
    noise = 2 * math.sqrt(stack.wall * scale + stack.cpu)
    return max(int(stack.wall - stack.cpu - noise), 0)


def _request_frame(frames: list[Frame]) -> int | None:
    """The deepest application frame below the last idle point: code a worker or an event
    loop runs for a request, not the program's main function that runs the loop."""
    start = max((i for i, f in enumerate(frames) if idle_point(f)), default=-1) + 1
    app = [i for i in range(start, len(frames)) if not frames[i].library]
    return app[-1] if app else None


def wall_samples(profile: Profile, stages: Iterable[int] | None = None) -> int:
    return sum(s.wall for s in _select(profile, stages))


def cpu_samples(profile: Profile, stages: Iterable[int] | None = None) -> int:
    return sum(s.cpu for s in _select(profile, stages))
