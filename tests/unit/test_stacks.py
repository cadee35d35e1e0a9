"""Reading a py-spy profile: CPU hotspots, waiting spots, idle points, frames."""

from __future__ import annotations

import pytest

from perfeng.analysis.stacks import (
    Hotspots,
    cpu_hotspots,
    cpu_samples,
    idle_point,
    stages_within,
    waiting_spots,
    wall_samples,
)
from perfeng.model.watch import Frame, Profile, ProfileStage, Stack, parse_frame

STD = "/usr/lib/python3.11"
APP = "/srv/app/service"

PROCESS = 'process 4242:"python -m service --port 8000"'
MAIN = f"main ({APP}/main.py:40)"
HANDLER = f"handle ({APP}/handlers.py:12)"
HANDLER_15 = f"handle ({APP}/handlers.py:15)"
FIB = f"fib ({APP}/maths.py:3)"
JOB = f"job ({APP}/jobs.py:8)"
ENCODE = f"JSONEncoder.encode ({STD}/json/encoder.py:200)"
RECV = f"SocketIO.readinto ({STD}/socket.py:706)"
REQUESTS = "Session.send (/srv/venv/lib/python3.11/site-packages/requests/sessions.py:701)"
# an asyncio program: asyncio.run -> Runner.run -> ... -> the selector
ASYNCIO_RUN = f"run ({STD}/asyncio/runners.py:190)"
RUNNER_RUN = f"Runner.run ({STD}/asyncio/runners.py:118)"
UNTIL_COMPLETE = f"BaseEventLoop.run_until_complete ({STD}/asyncio/base_events.py:640)"
RUN_FOREVER = f"BaseEventLoop.run_forever ({STD}/asyncio/base_events.py:607)"
RUN_ONCE = f"BaseEventLoop._run_once ({STD}/asyncio/base_events.py:1884)"
SELECT = f"EpollSelector.select ({STD}/selectors.py:468)"
HANDLE_RUN = f"Handle._run ({STD}/asyncio/events.py:80)"
# a thread-pool worker
BOOTSTRAP = f"Thread._bootstrap ({STD}/threading.py:1002)"
THREAD_RUN = f"Thread.run ({STD}/threading.py:982)"
WORKER = f"_worker ({STD}/concurrent/futures/thread.py:83)"
WORK_ITEM = f"_WorkItem.run ({STD}/concurrent/futures/thread.py:58)"
QUEUE_GET = f"Queue.get ({STD}/queue.py:171)"
CONDITION_WAIT = f"Condition.wait ({STD}/threading.py:331)"


class _Frames:
    """Frame texts to the indices a Profile stores, in order of first use."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def stack(self, *texts: str, wall: int = 0, cpu: int = 0, stage: int = 0) -> Stack:
        indices = []
        for text in texts:
            if text not in self.texts:
                self.texts.append(text)
            indices.append(self.texts.index(text))
        return Stack(stage=stage, frames=indices, wall=wall, cpu=cpu)


def _profile(frames: _Frames, stacks: list[Stack]) -> Profile:
    return Profile(
        status="ok",
        reason=None,
        hint=None,
        sampler="py-spy 0.4.3",
        rate_hz=100,
        frames=frames.texts,
        stages=[
            ProfileStage(index=0, start_s=0.0, end_s=10.0),
            ProfileStage(index=1, start_s=10.0, end_s=20.0),
            ProfileStage(index=2, start_s=20.0, end_s=30.0),
        ],
        stacks=stacks,
    )


def _shares(spots: Hotspots) -> dict[str, tuple[float, float]]:
    """function (or function:line) -> (own, total)."""
    out: dict[str, tuple[float, float]] = {}
    for share in spots.shares:
        key = share.frame.function
        if share.frame.line is not None:
            key += f":{share.frame.line}"
        out[key] = (share.own, share.total)
    return out


# ---- CPU hotspots ---------------------------------------------------------------------------


def test_own_and_total_shares() -> None:
    f = _Frames()
    profile = _profile(
        f,
        [
            f.stack(PROCESS, MAIN, HANDLER, ENCODE, cpu=60, wall=60),
            f.stack(PROCESS, MAIN, HANDLER, cpu=30, wall=30),
            f.stack(PROCESS, MAIN, FIB, cpu=10, wall=10),
        ],
    )

    spots = cpu_hotspots(profile)

    assert spots.samples == 100
    shares = _shares(spots)
    assert shares["JSONEncoder.encode"] == pytest.approx((0.6, 0.6))
    assert shares["handle"] == pytest.approx((0.3, 0.9))
    assert shares["fib"] == pytest.approx((0.1, 0.1))
    assert shares["main"] == pytest.approx((0.0, 1.0))
    # highest own share first; equal own shares by the larger total
    assert [s.frame.function for s in spots.shares] == [
        "JSONEncoder.encode",
        "handle",
        "fib",
        "main",
    ]


def test_a_recursive_function_counts_once_a_sample_in_total() -> None:
    f = _Frames()
    profile = _profile(
        f,
        [
            f.stack(MAIN, FIB, FIB, FIB, FIB, cpu=40),
            f.stack(MAIN, FIB, FIB, ENCODE, cpu=10),
            f.stack(MAIN, HANDLER, cpu=50),
        ],
    )

    shares = _shares(cpu_hotspots(profile))

    assert shares["fib"] == pytest.approx((0.4, 0.5))  # not 4 * 0.4 + 2 * 0.1
    assert shares["main"] == pytest.approx((0.0, 1.0))
    assert all(total <= 1.0 for _, total in shares.values())


def test_pseudo_process_frames_are_ignored() -> None:
    f = _Frames()
    profile = _profile(
        f,
        [
            f.stack(PROCESS, MAIN, HANDLER, cpu=30),
            f.stack('process 4243:"python -m service --worker"', MAIN, HANDLER, cpu=10),
        ],
    )

    spots = cpu_hotspots(profile)

    assert {s.frame.function for s in spots.shares} == {"main", "handle"}
    assert _shares(spots)["handle"] == pytest.approx((1.0, 1.0))  # merged across processes


def test_cpu_hotspots_merge_the_lines_of_a_function() -> None:
    f = _Frames()
    profile = _profile(f, [f.stack(MAIN, HANDLER, cpu=3), f.stack(MAIN, HANDLER_15, cpu=1)])

    spots = cpu_hotspots(profile)

    handle = [s for s in spots.shares if s.frame.function == "handle"]
    assert len(handle) == 1
    assert handle[0].frame == Frame("handle", f"{APP}/handlers.py", None)
    assert handle[0].own == pytest.approx(1.0)


def test_cpu_hotspots_of_chosen_stages() -> None:
    f = _Frames()
    profile = _profile(
        f,
        [
            f.stack(MAIN, HANDLER, cpu=80, stage=0),
            f.stack(MAIN, FIB, cpu=20, stage=1),
            f.stack(MAIN, ENCODE, cpu=20, stage=2),
        ],
    )

    later = cpu_hotspots(profile, [1, 2])

    assert later.samples == 40
    shares = _shares(later)
    assert "handle" not in shares
    assert shares["fib"] == pytest.approx((0.5, 0.5))
    assert shares["JSONEncoder.encode"] == pytest.approx((0.5, 0.5))
    assert cpu_hotspots(profile, iter([0])).samples == 80  # any iterable
    assert cpu_hotspots(profile).samples == 120
    assert cpu_hotspots(profile, []) == Hotspots(0, ())


def test_no_cpu_samples_no_hotspots() -> None:
    f = _Frames()
    profile = _profile(f, [f.stack(MAIN, HANDLER, wall=50, cpu=0)])

    assert cpu_hotspots(profile) == Hotspots(0, ())


def test_sample_counts_by_stage() -> None:
    f = _Frames()
    profile = _profile(
        f,
        [
            f.stack(MAIN, HANDLER, wall=100, cpu=70, stage=0),
            f.stack(MAIN, FIB, wall=40, cpu=5, stage=1),
        ],
    )

    assert wall_samples(profile) == 140
    assert cpu_samples(profile) == 75
    assert wall_samples(profile, [1]) == 40
    assert cpu_samples(profile, [1]) == 5


# ---- stages ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (2.0, 8.0, [0]),
        (5.0, 10.0, [0]),  # ends where stage 1 starts: does not overlap it
        (10.0, 15.0, [1]),
        (5.0, 15.0, [0, 1]),
        (9.5, 20.5, [0, 1, 2]),
        (30.0, 40.0, []),
        (-5.0, 0.0, []),
    ],
)
def test_stages_within_a_window(start: float, end: float, expected: list[int]) -> None:
    assert stages_within(_profile(_Frames(), []), start, end) == expected


# ---- waiting --------------------------------------------------------------------------------


def test_a_busy_stack_is_not_waiting() -> None:
    # the two samplers never sample at the same instant: wall 100 / cpu 95 is noise
    f = _Frames()
    profile = _profile(f, [f.stack(PROCESS, MAIN, HANDLER, ENCODE, wall=100, cpu=95)])

    assert waiting_spots(profile) == Hotspots(0, ())


def test_an_off_cpu_stack_waits_in_its_deepest_application_frame() -> None:
    f = _Frames()
    profile = _profile(f, [f.stack(PROCESS, MAIN, HANDLER, RECV, wall=500, cpu=0)])

    spots = waiting_spots(profile)

    # 500 - 0 less 2 * sqrt(500) = 44.7 of Poisson noise
    assert spots.samples == 455
    assert spots.shares[0].frame == Frame("handle", f"{APP}/handlers.py", 12)
    shares = _shares(spots)
    assert shares["handle:12"] == pytest.approx((1.0, 1.0))
    assert shares["main:40"] == pytest.approx((0.0, 1.0))
    assert "SocketIO.readinto:706" not in shares  # the library leaf is cut off


def test_waiting_is_wall_less_cpu_less_the_noise_allowance() -> None:
    f = _Frames()
    profile = _profile(
        f,
        [
            f.stack(MAIN, HANDLER, RECV, wall=110, cpu=10),  # 100 - 2 * sqrt(120) = 78.09
            f.stack(MAIN, JOB, wall=400, cpu=300),  # 100 - 2 * sqrt(700) = 47.08
        ],
    )

    spots = waiting_spots(profile)

    assert spots.samples == 78 + 47
    shares = _shares(spots)
    assert shares["handle:12"][0] == pytest.approx(78 / 125)
    assert shares["job:8"][0] == pytest.approx(47 / 125)
    assert [s.frame.function for s in spots.shares[:2]] == ["handle", "job"]


def test_waiting_spots_keep_lines_apart() -> None:
    f = _Frames()
    profile = _profile(
        f,
        [
            f.stack(MAIN, HANDLER, RECV, wall=300, cpu=0),
            f.stack(MAIN, HANDLER_15, RECV, wall=300, cpu=0),
        ],
    )

    shares = _shares(waiting_spots(profile))

    assert shares["handle:12"] == pytest.approx((0.5, 0.5))
    assert shares["handle:15"] == pytest.approx((0.5, 0.5))


@pytest.mark.parametrize(
    "idle_stack",
    [
        # the event loop waiting in its selector
        (
            PROCESS,
            MAIN,
            ASYNCIO_RUN,
            RUNNER_RUN,
            UNTIL_COMPLETE,
            RUN_FOREVER,
            RUN_ONCE,
            SELECT,
        ),
        # pool workers waiting on their queue
        (BOOTSTRAP, THREAD_RUN, WORKER, QUEUE_GET, CONDITION_WAIT),
        (BOOTSTRAP, THREAD_RUN, WORKER),
        # the event loop of asyncio.run itself (a leaf at Runner.run)
        (MAIN, ASYNCIO_RUN, RUNNER_RUN),
    ],
)
def test_stacks_idling_for_work_are_set_aside(idle_stack: tuple[str, ...]) -> None:
    f = _Frames()
    profile = _profile(f, [f.stack(*idle_stack, wall=1000, cpu=0)])

    assert waiting_spots(profile) == Hotspots(0, ())


def test_an_event_loop_main_is_never_blamed_for_waiting() -> None:
    f = _Frames()
    loop = (PROCESS, MAIN, ASYNCIO_RUN, RUNNER_RUN, UNTIL_COMPLETE, RUN_FOREVER, RUN_ONCE)
    profile = _profile(
        f,
        [
            f.stack(*loop, SELECT, wall=5000, cpu=0),  # idle
            # library work run by the loop: no application frame after the last idle point
            f.stack(*loop, HANDLE_RUN, RECV, wall=800, cpu=0),
        ],
    )

    assert waiting_spots(profile) == Hotspots(0, ())


def test_a_coroutine_run_by_the_loop_is_blamed_not_main() -> None:
    f = _Frames()
    loop = (PROCESS, MAIN, ASYNCIO_RUN, RUNNER_RUN, UNTIL_COMPLETE, RUN_FOREVER, RUN_ONCE)
    profile = _profile(
        f,
        [
            f.stack(*loop, SELECT, wall=5000, cpu=0),
            f.stack(*loop, HANDLE_RUN, HANDLER, RECV, wall=400, cpu=0),
        ],
    )

    spots = waiting_spots(profile)

    assert spots.samples == 360  # 400 - 2 * sqrt(400)
    assert spots.shares[0].frame == Frame("handle", f"{APP}/handlers.py", 12)
    assert spots.shares[0].own == pytest.approx(1.0)
    assert all(s.own == 0 for s in spots.shares if s.frame.function == "main")


def test_a_handler_run_by_a_pool_worker_is_blamed() -> None:
    f = _Frames()
    profile = _profile(
        f,
        [
            f.stack(BOOTSTRAP, THREAD_RUN, WORKER, QUEUE_GET, CONDITION_WAIT, wall=9000),
            f.stack(BOOTSTRAP, THREAD_RUN, WORKER, WORK_ITEM, JOB, wall=100, cpu=0),
            f.stack(BOOTSTRAP, THREAD_RUN, WORKER, WORK_ITEM, HANDLER, REQUESTS, wall=300),
        ],
    )

    spots = waiting_spots(profile)

    # 100 - 20 and 300 - 2 * sqrt(300) = 265.36
    assert spots.samples == 80 + 265
    shares = _shares(spots)
    assert shares["job:8"][0] == pytest.approx(80 / 345)
    assert shares["handle:12"][0] == pytest.approx(265 / 345)
    assert [s.frame.function for s in spots.shares[:2]] == ["handle", "job"]
    # the pool's own frames are above the handler: a total share, never an own one
    assert shares["_worker:83"] == pytest.approx((0.0, 1.0))


def test_a_stack_without_application_frames_is_not_attributed() -> None:
    f = _Frames()
    profile = _profile(
        f,
        [
            f.stack(BOOTSTRAP, THREAD_RUN, REQUESTS, RECV, wall=500),
            f.stack(MAIN, HANDLER, RECV, wall=100),
        ],
    )

    spots = waiting_spots(profile)

    assert spots.samples == 80
    assert spots.shares[0].frame.function == "handle"
    assert spots.shares[0].own == pytest.approx(1.0)


def test_waiting_spots_of_chosen_stages() -> None:
    f = _Frames()
    profile = _profile(
        f,
        [
            f.stack(MAIN, HANDLER, RECV, wall=400, stage=0),
            f.stack(MAIN, JOB, wall=100, stage=1),
        ],
    )

    spots = waiting_spots(profile, [1])

    assert spots.samples == 80
    assert set(_shares(spots)) == {"main:40", "job:8"}
    assert waiting_spots(profile, [2]) == Hotspots(0, ())


# ---- idle points ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        RUNNER_RUN,
        ASYNCIO_RUN,
        RUN_FOREVER,
        RUN_ONCE,
        SELECT,
        WORKER,
        QUEUE_GET,
        CONDITION_WAIT,
        f"Event.wait ({STD}/threading.py:629)",
        f"BaseServer.serve_forever ({STD}/socketserver.py:233)",
        "Arbiter.sleep (/srv/venv/lib/python3.11/site-packages/gunicorn/arbiter.py:357)",
        "_worker (C:\\Python311\\Lib\\concurrent\\futures\\thread.py:83)",
    ],
)
def test_idle_points(text: str) -> None:
    assert idle_point(parse_frame(text))


@pytest.mark.parametrize(
    "text",
    [
        MAIN,
        HANDLER,
        WORK_ITEM,  # the pool runs work here: not idle
        UNTIL_COMPLETE,
        HANDLE_RUN,
        f"Thread.run ({STD}/threading.py:982)",
        f"select ({APP}/db.py:10)",  # the function, in another file
        f"_worker ({STD}/multiprocessing/pool.py:114)",
    ],
)
def test_not_idle_points(text: str) -> None:
    assert not idle_point(parse_frame(text))


def test_an_application_file_whose_name_ends_like_a_library_one_is_not_idle() -> None:
    assert not idle_point(parse_frame(f"get ({APP}/jobqueue.py:42)"))
    assert not idle_point(parse_frame(f"select ({APP}/myselectors.py:7)"))


# ---- frames ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/srv/venv/lib/python3.11/site-packages/requests/sessions.py",
        "/usr/lib/python3/dist-packages/yaml/__init__.py",
        "/usr/lib/python3.11/json/encoder.py",
        "/root/.pyenv/versions/3.11.7/lib/python3.11/asyncio/runners.py",
        "/usr/local/lib/python3.12/selectors.py",
        "<frozen runpy>",
        "<frozen importlib._bootstrap>",
        "C:\\venv\\Lib\\site-packages\\flask\\app.py",
    ],
)
def test_library_frames(path: str) -> None:
    assert Frame("f", path, 1).library


@pytest.mark.parametrize(
    "path",
    [
        "/srv/app/service/handlers.py",
        "/home/me/lib/python/tool.py",
        "/opt/python3.11/app.py",
        "app.py",
    ],
)
def test_application_frames(path: str) -> None:
    assert not Frame("f", path, 1).library


@pytest.mark.parametrize(
    ("path", "short"),
    [
        ("/srv/venv/lib/python3.11/site-packages/requests/sessions.py", "requests/sessions.py"),
        ("/usr/lib/python3/dist-packages/yaml/__init__.py", "yaml/__init__.py"),
        ("/usr/lib/python3.11/json/encoder.py", "json/encoder.py"),
        ("/root/.pyenv/versions/3.11.7/lib/python3.11/asyncio/runners.py", "asyncio/runners.py"),
        ("/srv/app/service/handlers.py", "app/service/handlers.py"),
        ("/home/me/projects/shop/api/views.py", "shop/api/views.py"),
        ("/app/main.py", "/app/main.py"),
        ("main.py", "main.py"),
        ("<frozen runpy>", "<frozen runpy>"),
        ("C:\\venv\\Lib\\site-packages\\flask\\app.py", "flask/app.py"),
    ],
)
def test_short_file(path: str, short: str) -> None:
    assert Frame("f", path, 1).short_file == short


def test_parse_frame_with_a_line() -> None:
    assert parse_frame(HANDLER) == Frame("handle", f"{APP}/handlers.py", 12)


def test_parse_frame_without_a_line() -> None:
    frame = parse_frame(f"handle ({APP}/handlers.py)")

    assert frame == Frame("handle", f"{APP}/handlers.py", None)
    assert not frame.pseudo


def test_parse_frame_with_parentheses_in_the_function_name() -> None:
    assert parse_frame(f"wrapper (retry) ({APP}/retry.py:7)") == Frame(
        "wrapper (retry)", f"{APP}/retry.py", 7
    )
    assert parse_frame(f"f(x) ({APP}/a.py:1)") == Frame("f(x)", f"{APP}/a.py", 1)


def test_parse_frame_of_special_names() -> None:
    assert parse_frame("<module> (/srv/app/main.py:1)") == Frame("<module>", "/srv/app/main.py", 1)
    assert parse_frame("<lambda> (<frozen runpy>:88)") == Frame("<lambda>", "<frozen runpy>", 88)
    assert parse_frame("run (C:\\app\\main.py:3)") == Frame("run", "C:\\app\\main.py", 3)


def test_parse_frame_of_py_spy_pseudo_frames() -> None:
    process = parse_frame(PROCESS)
    assert process == Frame(PROCESS, "", None)
    assert process.pseudo
    thread = parse_frame('thread (0x7F12AB): "MainThread"')
    assert thread == Frame('thread (0x7F12AB): "MainThread"', "", None)
    assert thread.pseudo


def test_code_frames_are_not_pseudo() -> None:
    assert not parse_frame(HANDLER).pseudo
    assert not parse_frame("process (/srv/app/jobs.py:3)").pseudo  # a function named so


def test_parse_frame_with_parentheses_in_the_path() -> None:
    assert parse_frame("handle (/home/me/Projects (old)/app/views.py:12)") == Frame(
        "handle", "/home/me/Projects (old)/app/views.py", 12
    )
