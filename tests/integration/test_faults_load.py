"""A short load run through the fault proxy: a 1-s reset window shows in summary.faults with
its errors and a recovery, and a scenario's [[faults]] timeline is followed."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from perfeng.analysis.faults import fault_outcomes
from perfeng.gates import parse_thresholds
from perfeng.model.faults import read_outcomes, read_windows, to_builtins
from perfeng.proxy.timeline import timed_faults
from perfeng.scenario.quick import LoadFlags, quick_scenario
from perfeng.testing.servers import FastServer, ServerProcess, start_in_process
from perfeng.workflows.load import LoadSettings, run_load

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def target() -> Iterator[ServerProcess]:
    with start_in_process("fast") as server:
        yield server


def test_a_reset_window_and_its_recovery(target: ServerProcess) -> None:
    url = f"http://127.0.0.1:{target.port}/"
    scenario = quick_scenario(url, None, [], None, LoadFlags(rate="100", duration="7s"))
    settings = LoadSettings(grace_s=1.0, seed=3, faults=timed_faults(["reset"], "1.5s", "1s"))
    thresholds = parse_thresholds(["recovery_s<5s", "error_rate<50%"])
    document = run_load(scenario, thresholds, settings).document
    summary = document["summary"]
    (entry,) = read_outcomes(summary["faults"])
    assert entry.kind == "reset" and 1.0 <= entry.start_s <= 2.0
    assert entry.end_s - entry.start_s == pytest.approx(1.0, abs=0.2)
    assert entry.errors >= 30 and entry.error_rate >= 0.3  # every request in it was reset
    assert entry.lost >= entry.errors
    # what the analysis decides from the document's own series (a loaded machine may delay
    # the recovery; the rule, not the machine, is under test here)
    windows = read_windows(document["faults"]["windows"])
    assert to_builtins(fault_outcomes(summary["timeseries"], windows)) == summary["faults"]
    verdicts = {v["expression"]: v for v in summary["thresholds"]}
    assert verdicts["recovery_s<5s"]["observed"] == entry.recovery_s
    if document["generator"]["trustworthy"]:  # a lagging generator's latency is its own
        assert entry.recovered and entry.recovery_s is not None and entry.recovery_s < 4
    assert url.startswith(document["scenario"]["base_url"])  # the real target, not the proxy
    assert document["faults"]["proxy"]["stats"]["resets"] >= entry.errors


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
