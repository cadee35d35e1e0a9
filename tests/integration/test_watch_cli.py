"""Watching the target from the command line: what goes wrong gets one line and exit 2, or a
finding that says what could not be watched; the load result is always written."""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_program
from tests.integration.cli_helpers import PERFENG, perfeng
from tests.integration.test_findings_services import ROOT, free_port, wait_for
from tests.services.launch import command

SHORT = ["--rate", "50", "--duration", "3s", "--quiet"]


@pytest.fixture(scope="module")
def threaded() -> Iterator[tuple[int, int]]:
    port = free_port()
    process = subprocess.Popen(command("threaded", port), cwd=ROOT)
    try:
        wait_for(port, process)
        yield port, process.pid
    finally:
        process.kill()
        process.wait()


def one_line_error(result: subprocess.CompletedProcess[str], text: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert text in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_an_unknown_pid(tmp_path: Path) -> None:
    result = perfeng("load", "http://127.0.0.1:9/", *SHORT, "--target-pid", "999999999")
    one_line_error(result, "--target-pid 999999999: no such process")


def test_a_pid_that_is_not_a_number() -> None:
    result = perfeng("load", "http://127.0.0.1:9/", *SHORT, "--target-pid", "abc")
    one_line_error(result, "--target-pid: invalid int value")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--profile"], "--profile needs a target to watch"),
        (["--target-pid", str(os.getpid()), "--profile-rate", "0"], "--profile-rate 0"),
        (["--target-cmd", "  "], "--target-cmd is empty"),
    ],
)
def test_impossible_watch_options(args: list[str], message: str) -> None:
    one_line_error(perfeng("load", "http://127.0.0.1:9/", *SHORT, *args), message)


def test_a_target_cmd_that_exits_before_opening_its_port(tmp_path: Path) -> None:
    port = free_port()
    cmd = f"{sys.executable} -c 'import sys; print(\"bad config\"); sys.exit(3)'"
    out = tmp_path / "run.json"
    result = perfeng(
        "load", f"http://127.0.0.1:{port}/", *SHORT, "--target-cmd", cmd, "--out", str(out)
    )
    one_line_error(result, "--target-cmd exited with code 3 before")
    assert "bad config" in result.stderr  # its last line, from the log next to the result
    assert (tmp_path / "run.target.log").read_text().strip() == "bad config"


def test_a_target_cmd_that_never_opens_its_port() -> None:
    port = free_port()
    cmd = f"{sys.executable} -c 'import time; time.sleep(60)'"
    started = time.monotonic()
    result = perfeng(
        "load",
        f"http://127.0.0.1:{port}/",
        *SHORT,
        "--target-cmd",
        cmd,
        "--target-timeout",
        "1s",
    )
    one_line_error(result, f"did not open 127.0.0.1:{port} within 1s")
    assert time.monotonic() - started < 30


def test_a_port_already_taken_by_another_process(threaded: tuple[int, int]) -> None:
    port, _ = threaded
    result = perfeng(
        "load",
        f"http://127.0.0.1:{port}/fast",
        *SHORT,
        "--target-cmd",
        shlex.join(command("threaded", port)),
    )
    one_line_error(result, "already accepts connections before --target-cmd started")


def test_a_command_that_is_not_found() -> None:
    port = free_port()
    result = perfeng(
        "load", f"http://127.0.0.1:{port}/", *SHORT, "--target-cmd", "no-such-program --x"
    )
    one_line_error(result, "cannot start")


def test_the_environment_reaches_the_target_and_a_shell_is_opt_in(tmp_path: Path) -> None:
    port = free_port()
    out = tmp_path / "run.json"
    server = shlex.join(command("threaded", port))
    env = {**os.environ, "PERFENG_TEST_MARK": "passed-through"}
    result = subprocess.run(
        [
            *PERFENG,
            "load",
            f"http://127.0.0.1:{port}/fast",
            *SHORT,
            "--out",
            str(out),
            "--target-shell",
            "--target-cmd",
            f"echo $PERFENG_TEST_MARK; exec {server}",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(out.read_text())
    assert "passed-through" in Path(document["target"]["log"]).read_text()
    assert document["target"]["exit_code"] is not None  # stopped afterwards


def test_a_target_that_is_not_python_is_watched_but_not_profiled(tmp_path: Path) -> None:
    from tests.integration.test_nginx import CONFIG

    binary = require_program("nginx")
    port = free_port()
    (tmp_path / "nginx.conf").write_text(CONFIG.format(dir=tmp_path, port=port))
    out = tmp_path / "run.json"
    nginx = f"{binary} -c {tmp_path / 'nginx.conf'} -p {tmp_path}"
    result = perfeng(
        "load", f"http://127.0.0.1:{port}/", *SHORT, "--target-cmd", nginx, "--out", str(out)
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(out.read_text())
    assert document["profile"]["status"] == "unavailable"
    assert "not a CPython process" in document["profile"]["reason"]
    tree = document["resources"]["trees"][0]
    assert tree["samples"] and max(s["processes"] for s in tree["samples"]) == 2  # and worker
    gap = next(f for f in document["findings"] if f["id"] == "watch_unavailable")
    assert "not a CPython process" in gap["evidence"][0]


def test_py_spy_missing_is_said_and_the_run_goes_on(
    threaded: tuple[int, int], tmp_path: Path
) -> None:
    port, pid = threaded
    out = tmp_path / "run.json"
    result = subprocess.run(
        [
            *PERFENG,
            "load",
            f"http://127.0.0.1:{port}/fast",
            "--rate",
            "50",
            "--duration",
            "3s",
            "--target-pid",
            str(pid),
            "--out",
            str(out),
        ],
        env={**os.environ, "PERFENG_PYSPY": ""},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "py-spy is not installed" in result.stdout  # on the terminal, as a finding
    document = json.loads(out.read_text())
    assert document["profile"]["status"] == "unavailable"
    assert document["summary"]["requests"] >= 100


def test_py_spy_refused_says_how_to_allow_it(tmp_path: Path) -> None:
    """The target runs as nobody; perfeng runs as root without CAP_SYS_PTRACE."""
    if os.geteuid() != 0:
        pytest.skip("needs root to start a target as another user")
    setpriv = require_program("setpriv")
    port = free_port()
    target = subprocess.Popen(
        [
            setpriv,
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            *command("threaded", port),
        ],
        cwd=ROOT,
    )
    try:
        wait_for(port, target)
        out = tmp_path / "run.json"
        result = subprocess.run(
            [
                setpriv,
                "--bounding-set=-sys_ptrace",
                "--inh-caps=-sys_ptrace",
                *PERFENG,
                "load",
                f"http://127.0.0.1:{port}/fast",
                *SHORT,
                "--target-pid",
                str(target.pid),
                "--out",
                str(out),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        target.kill()
        target.wait()
    assert result.returncode == 0, result.stderr
    document = json.loads(out.read_text())
    profile = document["profile"]
    assert profile["status"] == "unavailable"
    assert "ptrace" in profile["reason"] and "CAP_SYS_PTRACE" in profile["hint"]
    notes = document["resources"]["unavailable"]
    assert any("access denied" in note for note in notes)
    assert len(notes) == len(set(notes))  # each said once


def port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


def test_ctrl_c_stops_the_target_and_keeps_the_result(tmp_path: Path) -> None:
    port = free_port()
    out = tmp_path / "run.json"
    proc = subprocess.Popen(
        [
            *PERFENG,
            "load",
            f"http://127.0.0.1:{port}/fast",
            "--rate",
            "50",
            "--duration",
            "60s",
            "--target-cmd",
            shlex.join(command("threaded", port)),
            "--out",
            str(out),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not port_open(port) and time.monotonic() < deadline:  # the target is up
        time.sleep(0.1)
    time.sleep(3)  # the load, the sampler and py-spy are under way; the result must keep them
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    document = json.loads(out.read_text())
    assert document["interrupted"] == "SIGINT"
    assert document["resources"]["trees"][0]["samples"]
    assert document["profile"]["status"] == "ok"
    assert not port_open(port)  # it was stopped


def test_a_target_that_dies_during_the_run(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(command("threaded", port), cwd=ROOT)
    wait_for(port, process)
    out = tmp_path / "run.json"
    proc = subprocess.Popen(
        [
            *PERFENG,
            "load",
            f"http://127.0.0.1:{port}/fast",
            "--rate",
            "50",
            "--duration",
            "6s",
            "--target-pid",
            str(process.pid),
            "--out",
            str(out),
            "--quiet",
        ],
        cwd=ROOT,
    )
    time.sleep(3)
    process.kill()
    process.wait()
    assert proc.wait(timeout=60) in (0, 1)
    document = json.loads(out.read_text())
    assert document["resources"]["trees"][0]["exited_at"] is not None
    stopped = next(f for f in document["findings"] if f["id"] == "watch_unavailable")
    assert stopped["title"] == "The target stopped during the run"
    assert document["summary"]["errors"] > 0
