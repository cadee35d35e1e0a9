"""`perfeng load --workers N` on one machine: shards that add up to the plan, started together,
merged exactly; a worker killed mid-run is reported and its checkpoint kept; Ctrl-C stops all.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from perfeng.testing.servers import FastServer, serve_in_thread
from tests.integration.cli_helpers import perfeng

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def fast() -> Iterator[FastServer]:
    with serve_in_thread(FastServer()) as server:
        yield server


def test_two_workers_send_the_plan_between_them(fast: FastServer, tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    done = perfeng(
        "load", f"{fast.url}/", "--rate", "300", "--duration", "3s", "--workers", "2",
        "--quiet", "--out", str(out), "--threshold", "error_rate<1%",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    document = json.loads(out.read_text())
    workers = document["generator"]["workers"]
    assert [w["index"] for w in workers] == [0, 1] and all(w["completed"] for w in workers)
    # the totals are the sum of the shards, and the shards are the plan (900 arrivals)
    assert document["summary"]["requests"] == sum(w["requests"] for w in workers) == 900
    assert [w["requests"] for w in workers] == [450, 450]
    assert abs(document["summary"]["throughput_rps"] - 300) / 300 < 0.01
    assert document["generator"]["start_skew_ms"] < 5
    assert document["summary"]["thresholds"][0]["pass"] is True
    assert document["incomplete"] is False
    # each shard is offered its share, so the merged offered rate is the plan's, not twice it
    offered = {s["target_rate"] for s in document["summary"]["timeseries"]}
    assert offered == {300.0}, offered


def test_users_are_split_between_workers(fast: FastServer, tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    done = perfeng(
        "load", f"{fast.url}/delay?ms=20", "--users", "5", "--duration", "2s", "--workers", "2",
        "--quiet", "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    document = json.loads(out.read_text())
    # 3 + 2 users at about 50 requests a second each (20 ms answers) for 2 s
    shares = [w["requests"] for w in document["generator"]["workers"]]
    assert shares[0] > shares[1] > 0
    assert 0.35 < shares[1] / sum(shares) < 0.45  # 2 of the 5 users


def _workers_of(parent: subprocess.Popen[str], count: int) -> list[psutil.Process]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        children = [c for c in psutil.Process(parent.pid).children() if "--shard" in c.cmdline()]
        if len(children) == count:
            return children
        time.sleep(0.1)
    raise AssertionError("the workers did not start")


def test_a_killed_worker_is_reported_and_the_others_finish(
    fast: FastServer, tmp_path: Path
) -> None:
    out = tmp_path / "run.json"
    parent = subprocess.Popen(
        [sys.executable, "-m", "perfeng", "load", f"{fast.url}/", "--rate", "200",
         "--duration", "8s", "--workers", "2", "--quiet", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    victim = _workers_of(parent, 2)[1]
    time.sleep(5.5)  # past its first checkpoints (a worker writes one every 2 s)
    victim.kill()
    _, err = parent.communicate(timeout=90)
    assert parent.returncode == 5, err  # incomplete, documented in --help
    document = json.loads(out.read_text())
    first, second = document["generator"]["workers"]
    assert first["completed"] and not second["completed"]
    assert 3 <= second["stopped_after_s"] <= 8
    assert second["requests"] >= 150  # its checkpoint: what it measured before is kept
    assert document["summary"]["requests"] == first["requests"] + second["requests"]
    assert "worker 1 stopped after" in err and "were not sent" in err


def test_ctrl_c_stops_every_worker_gracefully(fast: FastServer, tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    parent = subprocess.Popen(
        [sys.executable, "-m", "perfeng", "load", f"{fast.url}/", "--rate", "100",
         "--duration", "60s", "--workers", "2", "--quiet", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    workers = _workers_of(parent, 2)
    time.sleep(3)
    parent.send_signal(signal.SIGINT)
    _, err = parent.communicate(timeout=60)
    assert parent.returncode == 130, err
    assert not any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE for w in workers)
    document = json.loads(out.read_text())
    assert document["summary"]["requests"] > 100  # about 1.5 s of 100/s after the start delay
    assert document["interrupted"] == "SIGINT"


def test_bad_worker_counts(fast: FastServer) -> None:
    for value in ("0", "many", "1000"):
        done = perfeng("load", f"{fast.url}/", "--rate", "10", "--workers", value)
        assert done.returncode == 2
        assert done.stderr.count("\n") == 1 and "--workers" in done.stderr


def test_abort_thresholds_are_judged_on_the_merged_figures(
    fast: FastServer, tmp_path: Path
) -> None:
    aborts_on_merged_figures(f"{fast.url}/status/500", ["--workers", "2"], tmp_path)


def aborts_on_merged_figures(url: str, spread: list[str], tmp_path: Path) -> None:
    """Every answer a 500 with ``error_rate<1%:abort``: the run stops every generator within
    seconds of the first merged figures and exits 1; each generator sent its share."""
    out = tmp_path / "run.json"
    started = time.monotonic()
    done = perfeng(
        "load", url, "--rate", "100", "--duration", "60s", *spread,
        "--threshold", "error_rate<1%:abort", "--quiet", "--out", str(out), cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr  # a failed threshold, not an interruption
    assert time.monotonic() - started < 30  # stopped long before the plan's 60 s
    document = json.loads(out.read_text())
    assert document["interrupted"].startswith("abort: error_rate<1%")
    assert document["summary"]["thresholds"][0]["pass"] is False
    workers = document["generator"]["workers"]
    assert all(w["completed"] and w["requests"] > 0 for w in workers)


def test_the_parent_starts_and_watches_the_target_the_workers_load(tmp_path: Path) -> None:
    """``--target-cmd`` with ``--workers``, as docs/scale-out.md shows it: the parent starts
    the demo service, watches it (resources each second, py-spy) and diagnoses the merged
    result; the workers only send."""
    from tests.integration.test_diagnose_docs import runnable
    from tests.integration.test_findings_services import free_port

    guide = (Path(__file__).parents[2] / "docs" / "scale-out.md").read_text()
    (command,) = [
        ln for ln in guide.splitlines() if ln.startswith("perfeng ") and "--target-cmd" in ln
    ]
    port = free_port()
    out = tmp_path / "run.json"
    done = perfeng(*runnable(command, port, 0), "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    document = json.loads(out.read_text())
    assert document["summary"]["requests"] == 600
    assert len(document["generator"]["workers"]) == 2
    assert document["target"]["command"].endswith(f"--port {port}")
    tree = document["resources"]["trees"][0]
    assert len(tree["samples"]) >= 3  # once a second, the whole run
    assert document["profile"]["status"] == "ok"
    assert "no_bottleneck" in [f["id"] for f in document["findings"]]
    with pytest.raises(OSError):  # stopped with the run
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_workers_auto_leaves_a_core_to_a_started_target() -> None:
    import os

    from perfeng.cli.load import worker_count

    cores = len(os.sched_getaffinity(0))
    assert worker_count("auto") == cores
    assert worker_count("auto", target_started=True) == max(cores - 1, 1)


def test_the_workers_are_not_given_the_target_options() -> None:
    from perfeng.workflows.workers import worker_argv

    argv = ["URL", "--rate", "9", "--target-cmd", "serve", "--target-pid", "4", "--target-shell",
            "--profile-rate=50", "--no-profile", "--workers", "2", "--out", "x.json"]  # fmt: skip
    assert worker_argv(argv) == ["URL", "--rate", "9"]
