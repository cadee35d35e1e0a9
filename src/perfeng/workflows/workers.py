"""Several generator processes on one machine (``perfeng load ... --workers N``), callable from
Python: each runs ``perfeng load`` on its shard of the plan (engine/shard.py) from a common
epoch, reports its figures once a second as a JSON line, and writes its result (and a
checkpoint every 10 s); the results are merged exactly (model/merge.py).

A worker that dies does not stop the others: its last checkpoint joins the merge, and the
result says which worker stopped, when, and what share of the plan it did not send. Signals
reach the workers through this process only (they run in sessions of their own), so one
Ctrl-C is one graceful stop everywhere and a second is an immediate one.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

START_DELAY_S = 1.5  # from spawning to the common epoch: a worker's imports take ~0.5 s
# the parent writes, saves and prints; it also starts and watches the target
_DROP_WITH_VALUE = (
    "--workers", "--out", "-o", "--store", "--tag",
    "--target-pid", "--target-cmd", "--target-timeout", "--profile-rate",
)  # fmt: skip
_DROP_FLAGS = ("--save", "--json", "--quiet", "--target-shell", "--profile", "--no-profile")


@dataclass
class Worker:
    index: int
    process: subprocess.Popen[str]
    out: Path
    log: Path
    latest: dict[str, Any] = field(default_factory=dict)
    ended_at_s: float | None = None


@dataclass(frozen=True)
class WorkerReport:
    index: int
    exit_code: int
    completed: bool
    stopped_after_s: float | None  # seconds into the run when it died
    requests: int


def worker_argv(argv: Sequence[str], also: Sequence[str] = ()) -> list[str]:
    """The parent's ``load`` arguments without what only the parent does (and ``also``,
    options with a value)."""
    kept: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        name = arg.split("=", 1)[0]
        if name in _DROP_WITH_VALUE or name in also:
            skip = "=" not in arg
            continue
        if name in _DROP_FLAGS:
            continue
        kept.append(arg)
    return kept


@dataclass
class Outcome:
    documents: list[dict[str, Any]]
    reports: list[WorkerReport]
    epoch: float
    aborted: str | None = None  # why the parent stopped the workers (an abort threshold)


def run_workers(
    argv: Sequence[str],
    count: int,
    folder: Path,
    on_progress: Callable[[list[dict[str, Any]]], None],
    judge: Callable[[list[dict[str, Any]], float], str | None] | None = None,
) -> Outcome:
    """Run ``count`` workers; their documents (final or last checkpoint), how each ended, the
    common epoch they started from. ``judge`` sees the workers' latest lines once a second
    and may return a reason to stop them all (SIGTERM: a graceful stop)."""
    folder.mkdir(parents=True, exist_ok=True)
    epoch = time.time() + START_DELAY_S
    workers = [_spawn(list(argv), index, count, epoch, folder) for index in range(count)]
    stopping = _forward_signals(workers)
    aborted: str | None = None
    try:
        while any(w.process.poll() is None for w in workers):
            time.sleep(0.25)
            for worker in workers:
                if worker.process.poll() is not None and worker.ended_at_s is None:
                    worker.ended_at_s = max(time.time() - epoch, 0.0)
            latest = [w.latest for w in workers]
            on_progress(latest)
            if judge is not None and aborted is None:
                aborted = judge(latest, time.time() - epoch)
                if aborted is not None:
                    _signal_all(workers, signal.SIGTERM)
    finally:
        stopping()
        for worker in workers:
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.process.wait(30)
            if worker.process.poll() is None:
                worker.process.kill()
                worker.process.wait(10)
    documents, reports = [], []
    for worker in workers:
        document = _document(worker.out)
        code = worker.process.returncode
        # a worker the parent stopped for an abort threshold ended as asked, with its result
        ended_well = (0, 1, 143) if aborted is not None else (0, 1)
        completed = code in ended_well and document is not None and not document.get("partial")
        if document is not None:
            documents.append(document)
        requests = int(((document or {}).get("summary") or {}).get("requests") or 0)
        stopped = None if completed else worker.ended_at_s
        reports.append(WorkerReport(worker.index, code, completed, stopped, requests))
    return Outcome(documents, reports, epoch, aborted)


def _spawn(argv: list[str], index: int, count: int, epoch: float, folder: Path) -> Worker:
    out = folder / f"worker-{index}.json"
    log = folder / f"worker-{index}.log"
    command = [
        sys.executable, "-m", "perfeng", "load", *argv,
        "--shard", f"{index}/{count}", "--start-at", f"{epoch:.6f}",
        "--out", str(out), "--quiet", "--progress-lines",
    ]  # fmt: skip
    with log.open("w") as stderr:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=stderr, text=True, start_new_session=True
        )
    worker = Worker(index, process, out, log)
    threading.Thread(target=_read_progress, args=(worker,), daemon=True).start()
    return worker


def _read_progress(worker: Worker) -> None:
    assert worker.process.stdout is not None
    for line in worker.process.stdout:
        with contextlib.suppress(ValueError):
            worker.latest = json.loads(line)


def _forward_signals(workers: list[Worker]) -> Callable[[], None]:
    """SIGINT and SIGTERM go to every worker; returns what restores the handlers."""

    def forward(signum: int, _frame: Any) -> None:
        _signal_all(workers, signum)

    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    return restore


def _signal_all(workers: list[Worker], signum: int) -> None:
    for worker in workers:
        if worker.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker.process.pid, signum)


def running_totals(recorder: Any) -> dict[str, Any]:
    """A worker's running totals for its parent: each name's counts and encoded histograms
    (what ``running_summary`` merges)."""
    from perfeng.model import histogram as hdr

    return {
        name: {
            "requests": stats.requests,
            "errors": stats.errors,
            "errors_by_class": stats.errors_by_class,
            "latency": hdr.encode(stats.latency),
            "service": hdr.encode(stats.service),
        }
        for name, stats in recorder.flushed_names().items()
    }


def running_summary(latest: list[dict[str, Any]], seconds: float) -> dict[str, Any] | None:
    """The merged summary so far, from the workers' running totals (their lines' ``names``),
    as the thresholds read it; None before any worker has sent totals."""
    from perfeng.model import histogram as hdr
    from perfeng.model.recorder import NameStats
    from perfeng.model.result import Totals, summarize

    names: dict[str, NameStats] = {}
    for line in latest:
        for name, part in (line.get("names") or {}).items():
            stats = names.setdefault(name, NameStats())
            stats.requests += int(part["requests"])
            stats.errors += int(part["errors"])
            for kind, n in part["errors_by_class"].items():
                stats.errors_by_class[kind] = stats.errors_by_class.get(kind, 0) + int(n)
            stats.latency.add(hdr.decode(part["latency"]))
            stats.service.add(hdr.decode(part["service"]))
    if not names:
        return None
    dropped = sum(int(line.get("dropped", 0)) for line in latest)
    return summarize(Totals(0.0, max(seconds, 1e-3), names, (), dropped))


def _document(path: Path) -> dict[str, Any] | None:
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) and "summary" in document else None


def merged_result(
    documents: list[dict[str, Any]],
    reports: list[WorkerReport],
    epoch: float,
    argv: Sequence[str],
    planned_requests: int | None,
    what: str = "worker processes",
) -> dict[str, Any]:
    """One document from the workers', with each worker's story in ``generator.workers``."""
    from perfeng.model.merge import merge_documents
    from perfeng.workflows.metadata import collect

    meta = [d["metadata"] for d in documents]
    merged = merge_documents(
        documents,
        collect(
            min(m["start_epoch_s"] for m in meta), max(m["end_epoch_s"] for m in meta), list(argv)
        ),
    )
    starts = [m["start_epoch_s"] for m in meta]
    merged["generator"]["workers"] = [
        {
            "index": r.index,
            "exit_code": r.exit_code,
            "completed": r.completed,
            "stopped_after_s": r.stopped_after_s,
            "requests": r.requests,
        }
        for r in reports
    ]
    merged["generator"]["start_skew_ms"] = round((max(starts) - min(starts)) * 1000, 3)
    merged["generator"]["epoch"] = epoch
    lost = [r for r in reports if not r.completed]
    merged["incomplete"] = bool(lost)
    merged["notes"] = _notes(lost, reports, planned_requests, what)
    merged["workloads"] = documents[0].get("workloads", [])
    merged["scenario"] = documents[0].get("scenario")
    merged["model"] = documents[0].get("model")
    merged["interrupted"] = next(
        (d["interrupted"] for d in documents if d.get("interrupted")), None
    )
    merged["partial"] = False
    return merged


def _notes(
    lost: list[WorkerReport], reports: list[WorkerReport], planned: int | None, what: str
) -> list[str]:
    notes = [f"{len(reports)} {what}, each sending its share of the plan"]
    for report in lost:
        when = f"after {report.stopped_after_s:.1f} s" if report.stopped_after_s is not None else ""
        share = ""
        if planned:
            missing = max(planned // len(reports) - report.requests, 0)
            share = f"; about {missing:,} of its {planned // len(reports):,} planned requests "
            share += "were not sent"
        notes.append(f"worker {report.index} stopped {when} (exit code {report.exit_code}){share}")
    return notes
