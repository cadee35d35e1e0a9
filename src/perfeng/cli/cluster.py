"""``perfeng cluster local --workers N``: a Dask LocalCluster on this machine, to try
``perfeng load --cluster`` before setting up real machines (``dask scheduler`` and
``dask worker tcp://...`` there; docs/scale-out.md)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from perfeng.errors import ExitCode, UsageError


def local(args: argparse.Namespace) -> int:
    from perfeng.units import parse_positive_int
    from perfeng.workflows.cluster import _distributed

    count = parse_positive_int(args.workers, "--workers")
    if count > 64:
        raise UsageError(f"invalid --workers {args.workers!r}: at most 64 on one machine")
    distributed = _distributed()
    # the worker processes inherit "ignore SIGINT": a Ctrl-C on the terminal reaches the whole
    # process group, and only this process should act on it (by closing the cluster)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    cluster = distributed.LocalCluster(
        n_workers=count,
        threads_per_worker=2,
        processes=True,
        host=args.host,
        scheduler_port=int(args.port),
        dashboard_address=None,
    )
    print(f"perfeng: Dask scheduler at {cluster.scheduler_address} with {count} workers")
    print(f"perfeng load URL --rate 1000 --cluster {cluster.scheduler_address}", flush=True)
    print("(Ctrl-C stops the cluster)", file=sys.stderr, flush=True)
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    try:
        stopped.wait()
    finally:
        cluster.close()
    return int(ExitCode.OK)
