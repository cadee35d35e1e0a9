"""`perfeng load --cluster` on a real Dask cluster: a scheduler and two workers started as
separate processes on loopback with Dask's own commands (`dask scheduler`, `dask worker`)."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from perfeng.testing.servers import FastServer, closed_port, serve_in_thread
from tests.integration.cli_helpers import perfeng
from tests.integration.test_workers import aborts_on_merged_figures

pytestmark = pytest.mark.timeout(180)
DASK = str(Path(sys.executable).parent / "dask")


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _workers_ready(address: str, count: int) -> bool:
    from distributed import Client

    try:
        with Client(address, timeout="2s") as client:
            return len(client.nthreads()) >= count
    except OSError:
        return False


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    """One cluster for the module: the test that kills a worker runs last of those using it."""
    pytest.importorskip("distributed")  # installed by `make test` (the cluster extra)
    tmp_path = tmp_path_factory.mktemp("dask")
    assert shutil.which(DASK), "dask's command comes with the cluster extra"
    address = f"tcp://127.0.0.1:{_port()}"
    logs = [open(tmp_path / f"dask-{i}.log", "wb") for i in range(3)]  # noqa: SIM115
    port = address.rsplit(":", 1)[1]
    processes = [
        subprocess.Popen(
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard"],
            stdout=logs[0], stderr=subprocess.STDOUT,
        )
    ]  # fmt: skip
    time.sleep(1)
    for i in (1, 2):
        processes.append(
            subprocess.Popen(
                [DASK, "worker", address, "--nworkers", "1", "--nthreads", "2", "--host",
                 "127.0.0.1", "--no-dashboard", "--no-nanny"],
                stdout=logs[i], stderr=subprocess.STDOUT,
            )
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not _workers_ready(address, 2):
            assert time.monotonic() < deadline, (tmp_path / "dask-0.log").read_text()[-2000:]
            time.sleep(0.5)
        yield address, processes
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in logs:
            log.close()


@pytest.fixture(scope="module")
def fast() -> Iterator[FastServer]:
    with serve_in_thread(FastServer()) as server:
        yield server


def test_shards_on_two_dask_workers_add_up_to_the_plan(
    cluster: tuple[str, list[subprocess.Popen[bytes]]], fast: FastServer, tmp_path: Path
) -> None:
    address, _ = cluster
    out = tmp_path / "run.json"
    done = perfeng(
        "load", f"{fast.url}/", "--rate", "300", "--duration", "3s", "--cluster", address,
        "--quiet", "--out", str(out), cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    document = json.loads(out.read_text())
    workers = document["generator"]["workers"]
    assert document["summary"]["requests"] == sum(w["requests"] for w in workers) == 900
    # The count is the plan exactly; the rate over the merged span is near it (a loaded machine
    # answers the last arrivals late and stretches the span a little).
    assert 270 <= document["summary"]["throughput_rps"] <= 301
    assert document["generator"]["start_skew_ms"] < 5
    offsets = document["generator"]["cluster"]["clock_offsets_ms"]
    assert len(offsets) == 2 and all(abs(v) < 100 for v in offsets.values())
    assert document["notes"][0] == "2 Dask workers, each sending its share of the plan"


def _load_on(address: str, url: str, rate: str, duration: str, out: Path) -> subprocess.Popen[str]:
    """``perfeng load --cluster`` in the background, for a test to interrupt or to harm."""
    return subprocess.Popen(
        [sys.executable, "-m", "perfeng", "load", url, "--rate", rate, "--duration", duration,
         "--cluster", address, "--quiet", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=out.parent,
    )  # fmt: skip


def test_ctrl_c_stops_every_shard_gracefully(
    cluster: tuple[str, list[subprocess.Popen[bytes]]], fast: FastServer, tmp_path: Path
) -> None:
    """SIGINT on the client: the shards read the stop within a second and return what they
    measured; the result says it was interrupted, and the cluster is left running."""
    address, processes = cluster
    out = tmp_path / "run.json"
    run = _load_on(address, f"{fast.url}/", "100", "60s", out)
    time.sleep(6)  # the common start is 2 s after submitting
    started = time.monotonic()
    run.send_signal(signal.SIGINT)
    _, err = run.communicate(timeout=60)
    assert time.monotonic() - started < 20  # not the 60 s planned
    assert run.returncode == 130, err
    document = json.loads(out.read_text())
    assert document["interrupted"] == "SIGINT"
    assert all(w["completed"] for w in document["generator"]["workers"])
    assert document["summary"]["requests"] > 50
    assert all(p.poll() is None for p in processes)


def test_abort_thresholds_are_judged_on_the_merged_figures(
    cluster: tuple[str, list[subprocess.Popen[bytes]]], fast: FastServer, tmp_path: Path
) -> None:
    """The shards send their running totals (encoded histograms) through the Queue; the
    client judges the abort on the merged figures and stops every shard through Dask."""
    address, _ = cluster
    aborts_on_merged_figures(f"{fast.url}/status/500", ["--cluster", address], tmp_path)


def test_a_dask_worker_killed_mid_run_is_reported(
    cluster: tuple[str, list[subprocess.Popen[bytes]]], fast: FastServer, tmp_path: Path
) -> None:
    address, processes = cluster
    out = tmp_path / "run.json"
    before = fast.requests
    run = _load_on(address, f"{fast.url}/", "200", "8s", out)
    deadline = time.monotonic() + 60
    while fast.requests == before and time.monotonic() < deadline:  # the shards have started
        time.sleep(0.05)
    time.sleep(3.5)  # each shard checkpoints every 2 s of its run: one is home by now
    processes[2].kill()
    _, err = run.communicate(timeout=120)
    assert run.returncode == 5, err
    document = json.loads(out.read_text())
    reports = document["generator"]["workers"]
    lost = [w for w in reports if not w["completed"]]
    assert len(lost) == 1 and lost[0]["requests"] > 0  # its last checkpoint was kept
    assert "were not sent" in err


def test_an_unreachable_scheduler_is_one_line_not_a_hang(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    started = time.monotonic()
    done = perfeng(
        "load", "http://127.0.0.1:9/", "--rate", "10", "--duration", "1s",
        "--cluster", f"tcp://127.0.0.1:{closed_port()}", cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    assert done.stderr.startswith("perfeng: error: cannot reach the Dask scheduler at")
    assert done.stderr.count("\n") == 1
    assert time.monotonic() - started < 30


def test_cluster_local_starts_one_to_try_and_stops_on_ctrl_c(
    fast: FastServer, tmp_path: Path
) -> None:
    pytest.importorskip("distributed")
    local = subprocess.Popen(
        [sys.executable, "-m", "perfeng", "cluster", "local", "--workers", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert local.stdout is not None
        first = local.stdout.readline()
        assert first.startswith("perfeng: Dask scheduler at tcp://127.0.0.1:"), first
        address = first.split(" at ")[1].split()[0]
        out = tmp_path / "run.json"
        done = perfeng(
            "load", f"{fast.url}/", "--rate", "100", "--duration", "1s", "--cluster", address,
            "--quiet", "--out", str(out), cwd=tmp_path,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert len(json.loads(out.read_text())["generator"]["workers"]) == 2
        local.send_signal(signal.SIGINT)
        assert local.wait(30) == 0
    finally:
        if local.poll() is None:
            local.kill()
            local.wait(10)
