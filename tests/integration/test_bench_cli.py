"""``perfeng bench`` in real processes: callables, commands, failures, output and Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from perfeng.model.bench import load_bench_document

PERFENG = [sys.executable, "-m", "perfeng"]
QUICK = ["--processes", "2", "--values", "2", "--warmups", "1", "--min-time", "2ms"]

BENCH_FILE = """
import perfeng
from perfeng import bench

def bench_sum():
    sum(range(50))

def make(n):
    return list(range(n))[::-1]

@bench(params={"n": [10, 100]}, setup=make)
def sorts(data):
    sorted(data)

@perfeng.bench
def chatty():
    print("this must not reach the table")

def bench_fails():
    raise RuntimeError("broken\\non purpose")
"""


def perfeng(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PERFENG, *args], capture_output=True, text=True, timeout=90, cwd=cwd, check=False
    )


@pytest.fixture
def bench_file(tmp_path: Path) -> Path:
    path = tmp_path / "bench_demo.py"
    path.write_text(textwrap.dedent(BENCH_FILE))
    return path


def test_callables_are_measured_and_a_failure_gives_exit_2(
    bench_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "bench.json"
    result = perfeng("bench", str(bench_file), *QUICK, "--out", str(out))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "this must not reach" not in result.stdout
    document = load_bench_document(out)
    by_name = {b["name"]: b for b in document["benchmarks"]}
    assert list(by_name) == ["bench_sum", "sorts[n=10]", "sorts[n=100]", "chatty", "bench_fails"]
    for name in ("bench_sum", "sorts[n=10]", "sorts[n=100]", "chatty"):
        entry = by_name[name]
        assert entry["error"] is None and entry["kind"] == "callable"
        assert len(entry["values"]) == 4 and len(entry["warmups"]) == 2
        assert entry["stats"]["n"] == 4 and entry["loops"] >= 1
        # Calibration aimed each sample at 2 ms; a machine that got much faster (or slower)
        # between calibration and the samples moves them, so only a gross miss fails.
        assert entry["values"][0] * entry["loops"] >= 0.002 * 0.05
    assert by_name["sorts[n=100]"]["params"] == {"n": 100}
    assert by_name["sorts[n=10]"]["stats"]["median"] < by_name["sorts[n=100]"]["stats"]["median"]
    assert by_name["bench_fails"]["error"] == "RuntimeError: broken on purpose"
    assert by_name["bench_fails"]["values"] == []
    assert "error: bench_fails: RuntimeError: broken on purpose" in result.stdout
    settings = document["settings"]
    assert (settings["processes"], settings["values_per_process"], settings["warmups"]) == (2, 2, 1)
    assert settings["min_time_s"] == 0.002 and settings["preset"] == "default"
    meta = document["metadata"]
    assert meta["python_executable"] == sys.executable and meta["cpu_count"] == os.cpu_count()
    for key in ("cpu_model", "load_avg_start", "load_avg_end", "start_utc", "git_commit"):
        assert key in meta


def test_k_json_and_quiet(bench_file: Path) -> None:
    result = perfeng("bench", str(bench_file), "-k", "SORTS[n=1", *QUICK, "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert [b["name"] for b in document["benchmarks"]] == ["sorts[n=10]", "sorts[n=100]"]
    quiet = perfeng("bench", str(bench_file), "-k", "bench_fails", *QUICK, "--quiet")
    assert quiet.returncode == 2 and quiet.stdout == ""
    assert quiet.stderr.strip() == "perfeng: bench_fails: RuntimeError: broken on purpose"


def test_fast_preset_finishes_a_microsecond_statement_quickly(tmp_path: Path) -> None:
    path = tmp_path / "bench_fast.py"
    path.write_text("def bench_sorted():\n    sorted(range(100))\n")
    start = time.monotonic()
    result = perfeng("bench", str(path), "--fast", "--json")
    elapsed = time.monotonic() - start
    assert result.returncode == 0, result.stderr
    entry = json.loads(result.stdout)["benchmarks"][0]
    assert entry["stats"]["n"] == 16 and len(entry["warmups"]) == 8
    assert entry["values"][0] * entry["loops"] >= 0.05 * 0.5  # raw timings near --min-time
    assert 1e-7 < entry["stats"]["median"] < 1e-4  # a 100-item sort: about a microsecond
    assert elapsed < 15, elapsed


def test_import_error_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "bench_broken.py").write_text("import no_such_module_for_perfeng\n")
    result = perfeng("bench", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"perfeng: error: {tmp_path / 'bench_broken.py'}: cannot import: "
        "ModuleNotFoundError: No module named 'no_such_module_for_perfeng'"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give either a PATH"),
        (["x.py", "--cmd", "true"], "give either a PATH"),
        (["--cmd", "true", "--processes", "3"], "--processes applies to PATH"),
        (["{path}", "--runs", "3"], "--runs applies to --cmd only"),
        (["{path}", "--min-time", "soon"], "invalid duration 'soon'"),
        (["{path}", "--values", "0"], "--values 0"),
        (["-N", "--cmd", "no-such-program-for-perfeng"], "command not found"),
    ],
)
def test_usage_errors(bench_file: Path, args: list[str], message: str) -> None:
    result = perfeng("bench", *(a.replace("{path}", str(bench_file)) for a in args))
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_commands_through_the_shell_and_without(tmp_path: Path) -> None:
    command = f"{sys.executable} -c pass"
    out = tmp_path / "cmd.json"
    result = perfeng("bench", "--cmd", command, "--cmd", "true", "--runs", "4", "--out", str(out))
    assert result.returncode == 0, result.stderr
    document = load_bench_document(out)
    python, true = document["benchmarks"]
    assert python["kind"] == "command" and python["source"] == command
    assert python["executable"] == sys.executable and python["loops"] == 1
    assert len(python["values"]) == 4 and len(python["warmups"]) == 1
    assert len(python["user_s"]) == 4 and python["user_s"][0] > 0
    assert 0 < python["shell_overhead_s"] < python["stats"]["median"]
    assert python["stats"]["median"] > true["stats"]["median"]  # Python starts slower
    assert document["settings"]["processes"] == 4 and document["settings"]["runs"] == 4
    direct = perfeng("bench", "-N", "--cmd", command, "--runs", "3", "--json")
    assert direct.returncode == 0, direct.stderr
    entry = json.loads(direct.stdout)["benchmarks"][0]
    assert entry["shell_overhead_s"] is None and len(entry["values"]) == 3


def test_a_failing_command(tmp_path: Path) -> None:
    result = perfeng("bench", "--cmd", "exit 3", "--runs", "2")
    assert result.returncode == 2
    assert "error: exit 3: command 'exit 3' exited with code 3" in result.stdout
    ignored = perfeng("bench", "--cmd", "exit 3", "--runs", "2", "--ignore-failure", "--json")
    assert ignored.returncode == 0, ignored.stderr
    assert len(json.loads(ignored.stdout)["benchmarks"][0]["values"]) == 2


def test_ctrl_c_stops_the_worker_and_writes_what_was_measured(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    (tmp_path / "bench_slow.py").write_text(
        textwrap.dedent(
            f"""
            import os, time
            def bench_sleepy():
                with open({str(pids)!r}, "a") as f:
                    f.write(f"{{os.getpid()}}\\n")
                time.sleep(0.02)
            """
        )
    )
    out = tmp_path / "partial.json"
    process = subprocess.Popen(
        [*PERFENG, "bench", str(tmp_path), "--processes", "200", "--out", str(out), "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(set(_read(pids))) < 4:  # calibration + 3 workers
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    document = load_bench_document(out)
    assert document["interrupted"] is True
    assert document["benchmarks"][0]["stats"]["n"] >= 2
    time.sleep(0.2)
    for pid in set(_read(pids)):
        assert not Path(f"/proc/{pid}").exists() or _zombie(pid), f"worker {pid} still runs"


def _read(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def _zombie(pid: str) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


def test_bench_help_lists_exit_codes() -> None:
    result = perfeng("bench", "--help")
    assert result.returncode == 0
    for text in ("--cmd", "--fast", "--rigorous", "-k", "130"):
        assert text in result.stdout


def test_ctrl_c_at_a_terminal_reaches_the_worker_too(tmp_path: Path) -> None:
    # A terminal's Ctrl-C goes to the whole process group: a worker (or a command) that dies
    # of SIGINT stops the run; it is not reported as a failed benchmark.
    path = tmp_path / "bench_sigint.py"
    path.write_text("import os, signal\ndef bench_x():\n    os.kill(os.getpid(), signal.SIGINT)\n")
    result = perfeng("bench", str(path), "--json")
    assert result.returncode == 130, result.stderr
    assert json.loads(result.stdout)["interrupted"] is True
    command = perfeng("bench", "--cmd", "kill -INT $$", "--runs", "2", "--json")
    assert command.returncode == 130, command.stderr
    assert json.loads(command.stdout)["benchmarks"][0]["error"] is None
