"""Load runs through the fault proxy: the flags and their one-line errors, the dry run, and
the proxy embedded beside a server in this process. (The 1-s reset window with its errors and
recovery is run by test_faults_docs.py, from docs/faults.md's own command.)"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from perfeng.proxy.timeline import timed_faults
from perfeng.scenario.quick import LoadFlags, quick_scenario
from perfeng.testing.servers import FastServer, ServerProcess, start_in_process
from perfeng.workflows.load import LoadSettings, run_load

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def target() -> Iterator[ServerProcess]:
    with start_in_process("fast") as server:
        yield server


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--fault", "latncy=1ms"], "at column 1: unknown fault kind 'latncy'"),
        (["--fault-at", "2s"], "--fault-at and --fault-for need a --fault"),
        (["--fault", "down", "--fault-for", "0s"], "invalid --fault-for '0s'"),
        (["--fault", "down", "--workers", "2"], "faults need one generator"),
    ],
)
def test_fault_flag_errors_are_one_line(extra: list[str], message: str) -> None:
    argv = [sys.executable, "-m", "perfeng", "load", "http://127.0.0.1:9/", "--rate", "10"]
    done = subprocess.run([*argv, "--duration", "1s", *extra], capture_output=True, text=True)
    assert done.returncode == 2
    assert message in done.stderr and done.stderr.count("\n") == 1


def test_served_in_a_thread_too() -> None:
    """The embedded proxy also fronts a server in this process (perfeng.testing)."""
    from perfeng.testing.servers import serve_in_thread

    with serve_in_thread(FastServer()) as server:
        url = f"{server.url}/"
        scenario = quick_scenario(url, None, [], None, LoadFlags(rate="50", duration="1s"))
        settings = LoadSettings(grace_s=1.0, faults=timed_faults(["latency=20ms"], None, None))
        document = run_load(scenario, [], settings).document
    (entry,) = document["summary"]["faults"]
    assert entry["start_s"] == 0.0 and entry["requests"] >= 40
    assert document["summary"]["latency_ms"]["p50"] >= 20


def test_dry_run_shows_the_faults() -> None:
    argv = [sys.executable, "-m", "perfeng", "load", "http://127.0.0.1:9/", "--rate", "10"]
    argv += ["--fault", "reset@10%", "--fault-at", "1s", "--fault-for", "2s", "--dry-run"]
    done = subprocess.run(argv, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "fault: reset@10% at 1s for 2s" in done.stdout
