"""A load test on a Dask cluster (``perfeng load ... --cluster tcp://HOST:8786``), callable from
Python. Dask distributed does the distributing (its scheduler, its workers, its transport);
perfeng adds nothing of its own on the wire.

- One long-running task per Dask worker (``workers=[address]``), each a perfeng engine running
  its shard of the plan (engine/shard.py) from a common epoch.
- Progress comes back once a second through a Dask ``Queue``; a checkpoint of each shard's
  result every 2 s through a Dask ``Variable``, so a worker that dies leaves what it measured.
- Ctrl-C on the client sets a Dask ``Variable`` the shards read each second: a graceful stop.
- The final documents come back as the tasks' results and are merged exactly on the client.
- Each worker's clock offset against the client is measured (``client.run(time.time)``,
  the midpoint of the round trip) and recorded: each shard stamps its own epoch seconds.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from perfeng.errors import TargetUnreachable, UsageError
from perfeng.workflows.workers import Outcome, WorkerReport

START_DELAY_S = 2.0  # from submitting to the common epoch: tasks reach workers in milliseconds
CHECKPOINT_EVERY_S = 2


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise UsageError(
            "--cluster needs Dask distributed: pip install 'perfeng[cluster]' "
            "(or pip install 'dask[distributed]')"
        ) from None
    return distributed


def connect(address: str, timeout_s: float = 10.0) -> Any:
    """A Dask client, or one line (exit 3) when the scheduler cannot be reached."""
    distributed = _distributed()
    if "://" not in address:
        raise UsageError(f"invalid --cluster {address!r}: give tcp://HOST:PORT")
    _probe(address, timeout_s)
    try:
        return distributed.Client(address, timeout=f"{timeout_s}s", set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise TargetUnreachable(
            f"cannot reach the Dask scheduler at {address}: {exc or type(exc).__name__}"
        ) from None


def _probe(address: str, timeout_s: float) -> None:
    """A refused port fails at once: Dask's client retries a refused connection until its
    timeout, which would make a typo in the address cost the whole timeout."""
    host, _, port = address.split("://", 1)[1].rpartition(":")
    if not port.isdigit():
        return  # not host:port (a scheme of Dask's own): let Dask judge it
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise TargetUnreachable(
            f"cannot reach the Dask scheduler at {address}: {exc.strerror or exc}"
        ) from None


def run_shard(argv: list[str], index: int, count: int, epoch: float, run: str) -> dict[str, Any]:
    """Runs on a Dask worker: one shard of ``perfeng load ARGV``; its result document."""
    from perfeng.cli.load import build_scenario
    from perfeng.cli.main import build_parser
    from perfeng.engine.shard import Shard
    from perfeng.gates import parse_thresholds
    from perfeng.units import parse_duration_s
    from perfeng.workflows.load import LoadSettings, run_load
    from perfeng.workflows.workers import running_totals

    distributed = _distributed()
    args = build_parser().parse_args(["load", *argv])
    scenario = build_scenario(args)
    thresholds = parse_thresholds(scenario.thresholds)
    totals = any(t.abort for t in thresholds)
    if totals:  # the client judges abort thresholds on the merged running figures
        thresholds = tuple(dataclasses.replace(t, abort=False) for t in thresholds)
    progress = distributed.Queue(f"{run}-progress")
    checkpoint = distributed.Variable(f"{run}-checkpoint-{index}")
    stop = distributed.Variable(f"{run}-stop")
    pending: list[dict[str, Any]] = []

    def report(update: Any) -> None:
        line = {"index": index, "elapsed_s": round(update.elapsed_s, 3)}
        line |= {"duration_s": update.duration_s, "requests": update.requests}
        line |= {"errors": update.errors, "dropped": update.dropped}
        if totals:
            pending[:] = [line]  # sent by with_totals, called next with the recorder
        else:
            progress.put(line)

    def with_totals(recorder: Any) -> None:
        if pending:
            progress.put(pending.pop() | {"names": running_totals(recorder)})

    def stop_requested() -> str | None:
        with contextlib.suppress(Exception):
            value = stop.get(timeout=0.05)
            return str(value) if value else None
        return None

    settings = LoadSettings(
        grace_s=parse_duration_s(args.grace),
        seed=args.seed,
        on_progress=report,
        argv=["load", *argv],
        shard=Shard(index, count),
        start_at_wall_s=epoch,
        checkpoint_every_s=CHECKPOINT_EVERY_S,
        on_checkpoint=lambda partial: checkpoint.set(json.dumps(partial)),
        stop_requested=stop_requested,
        on_recorder=with_totals if totals else None,
    )
    return run_load(scenario, thresholds, settings).document


def clock_offsets(client: Any) -> dict[str, float]:
    """Each worker's wall clock minus the client's, in milliseconds (midpoint estimate)."""
    before = time.time()
    stamps = client.run(time.time)
    after = time.time()
    middle = (before + after) / 2
    return {worker: round((stamp - middle) * 1000, 3) for worker, stamp in stamps.items()}


def run_on_cluster(
    client: Any,
    argv: Sequence[str],
    on_progress: Callable[[list[dict[str, Any]]], None],
    count: int | None = None,
    judge: Callable[[list[dict[str, Any]], float], str | None] | None = None,
) -> tuple[Outcome, dict[str, Any]]:
    """Every worker (or the first ``count``) runs a shard; their documents, reports, the
    epoch and any abort, and what the result should say about the cluster. ``judge`` sees
    the shards' latest lines once a second; a reason it returns stops every shard."""
    distributed = _distributed()
    addresses = sorted(workers_alive(client))
    if not addresses:
        raise UsageError("the Dask cluster has no workers")
    chosen = addresses[: count or len(addresses)]
    offsets = clock_offsets(client)
    run = f"perfeng-{uuid.uuid4().hex[:12]}"
    queue = distributed.Queue(f"{run}-progress", client=client)
    stop = distributed.Variable(f"{run}-stop", client=client)
    stop.set("")
    epoch = time.time() + START_DELAY_S
    futures = [
        client.submit(
            run_shard, list(argv), index, len(chosen), epoch, run,
            workers=[address], allow_other_workers=False, pure=False, key=f"{run}-{index}",
        )
        for index, address in enumerate(chosen)
    ]  # fmt: skip
    latest: list[dict[str, Any]] = [{} for _ in chosen]
    ended: dict[int, float] = {}
    aborted: str | None = None
    restore = _stop_on_signals(stop)
    try:
        while not all(f.done() for f in futures):
            _drain(queue, latest)
            if judge is not None and aborted is None:
                aborted = judge(latest, time.time() - epoch)
                if aborted is not None:
                    stop.set(aborted)
            alive = workers_alive(client)
            for index, future in enumerate(futures):
                if not future.done() and chosen[index] not in alive:
                    # its worker is gone: Dask would wait for it forever (the task may run
                    # on that worker only), so the shard ends here with its last checkpoint
                    future.cancel()
                if future.done() and index not in ended:
                    ended[index] = max(time.time() - epoch, 0.0)
            on_progress(latest)
    finally:
        restore()
    _drain(queue, latest)
    documents, reports = _collect(client, futures, run, ended)
    info = {
        "scheduler": client.scheduler.address,
        "workers": chosen,
        "clock_offsets_ms": {a: offsets.get(a) for a in chosen},
    }
    return Outcome(documents, reports, epoch, aborted), info


def workers_alive(client: Any) -> set[str]:
    """The workers the scheduler knows now. Not ``client.scheduler_info()``: its cache is
    refreshed in the background with no per-worker entries (distributed >= 2025), so a live
    worker can look gone."""
    return set(client.nthreads())


def _drain(queue: Any, latest: list[dict[str, Any]]) -> None:
    with contextlib.suppress(Exception):
        for item in queue.get(timeout=0.5, batch=True) or []:
            latest[int(item["index"])] = item


def _stop_on_signals(stop: Any) -> Callable[[], None]:
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum: int, _frame: Any) -> None:
        stop.set(signal.Signals(signum).name)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for signum, old in previous.items():
            signal.signal(signum, old)

    return restore


def _collect(
    client: Any, futures: list[Any], run: str, ended: dict[int, float]
) -> tuple[list[dict[str, Any]], list[WorkerReport]]:
    distributed = _distributed()
    documents, reports = [], []
    for index, future in enumerate(futures):
        document: dict[str, Any] | None = None
        completed = False
        try:
            document = future.result()
            completed = True
        except Exception:  # the worker died or the shard failed: its last checkpoint
            with contextlib.suppress(Exception):
                text = distributed.Variable(f"{run}-checkpoint-{index}", client=client).get(
                    timeout=2
                )
                document = json.loads(text)
        if document is not None:
            documents.append(document)
        requests = int(((document or {}).get("summary") or {}).get("requests") or 0)
        code = 0 if completed else 1
        stopped = None if completed else ended.get(index)
        reports.append(WorkerReport(index, code, completed, stopped, requests))
    return documents, reports
