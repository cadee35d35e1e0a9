"""The command line in subprocesses: output, files and exit codes, bad input included."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from perfeng.testing.servers import BrokenServer, FastServer, closed_port, serve_in_thread

PERFENG = [sys.executable, "-m", "perfeng"]


def perfeng(
    *args: str, timeout: float = 60, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PERFENG, *args], capture_output=True, text=True, timeout=timeout, cwd=cwd, check=False
    )


@pytest.fixture(scope="module")
def fast() -> Iterator[FastServer]:
    with serve_in_thread(FastServer()) as server:
        yield server


def test_help_lists_commands_and_exit_codes() -> None:
    result = perfeng("--help")
    assert result.returncode == 0
    for text in ("load", "merge", "exit codes", "130", "budget failed"):
        assert text in result.stdout


def test_help_is_fast_because_heavy_modules_load_lazily() -> None:
    code = (
        "import sys, time; t = time.perf_counter(); import perfeng.cli.main as m; "
        "m.build_parser().format_help(); print(time.perf_counter() - t); "
        "print(','.join(n for n in ('rich', 'hdrh', 'httptools', 'uvloop', 'numpy') "
        "if n in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    seconds, heavy = out.stdout.splitlines()[0], out.stdout.splitlines()[1:]
    assert float(seconds) < 0.15
    assert heavy == [""] or heavy == []


def test_no_arguments_without_a_terminal_lists_the_tasks() -> None:
    result = perfeng()
    assert result.returncode == 0
    assert "Run a load test" in result.stdout
    assert "Monitor SLOs" in result.stdout


def test_quick_mode_writes_the_result_and_passes_thresholds(
    fast: FastServer, tmp_path: Path
) -> None:
    out = tmp_path / "run.json"
    result = perfeng(
        "load",
        fast.url + "/",
        "--rate",
        "100",
        "--duration",
        "1s",
        "--threshold",
        "p99<500ms",
        "--threshold",
        "error_rate<1%",
        "--out",
        str(out),
        "-H",
        "Authorization: Bearer s3cret",
    )
    assert result.returncode == 0, result.stderr
    assert "p99<500ms" in result.stdout
    document = json.loads(out.read_text())
    assert document["format_version"] == 1
    summary = document["summary"]
    assert summary["requests"] == 100
    assert [v["pass"] for v in summary["thresholds"]] == [True, True]
    assert "s3cret" not in out.read_text()
    assert "Authorization: ***" in document["metadata"]["command_line"]


def test_json_output_and_a_failing_threshold(fast: FastServer) -> None:
    result = perfeng(
        "load",
        fast.url + "/",
        "--users",
        "2",
        "--duration",
        "0.5s",
        "--json",
        "--threshold",
        "p50<1us",
    )
    assert result.returncode == 1
    summary = json.loads(result.stdout)
    assert summary["thresholds"][0]["pass"] is False
    assert set(summary) >= {"requests", "errors", "latency_ms", "service_time_ms", "timeseries"}


def test_dry_run_prints_the_plan_without_sending(fast: FastServer) -> None:
    before = fast.requests
    result = perfeng("load", fast.url + "/", "--stages", "10s:100,30s:1000,10s:0", "--dry-run")
    assert result.returncode == 0
    assert "expected requests: 22,000" in result.stdout
    assert fast.requests == before


def test_an_unreachable_target_exits_3_and_still_writes(tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    result = perfeng(
        "load",
        f"http://127.0.0.1:{closed_port()}/",
        "--rate",
        "20",
        "--duration",
        "0.5s",
        "--quiet",
        "--out",
        str(out),
    )
    assert result.returncode == 3
    assert "could not be reached" in result.stderr
    assert json.loads(out.read_text())["summary"]["errors_by_class"]["connect"] == 10


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["load", "ftp://x/"], "only http:// and https://"),
        (["load", "not a url"], "invalid target"),
        (["load", "http://127.0.0.1:1/", "--duration", "10 parsecs"], "invalid duration"),
        (["load", "http://127.0.0.1:1/", "--rate", "fast"], "invalid rate"),
        (["load", "http://127.0.0.1:1/", "--rate", "0"], "rate must be above 0"),
        (["load", "http://127.0.0.1:1/", "--threshold", "p99<<1ms"], "column 5"),
        (["load", "http://127.0.0.1:1/", "-H", "no colon"], "invalid header"),
        (["load", "http://127.0.0.1:1/", "--body", "@/no/such/file"], "cannot read body file"),
        (["load", "missing.toml"], "missing.toml"),
        (["load", "missing.py"], "no such file"),
        (["merge", "/no/such.json", "-o", "x.json"], "no such file"),
    ],
)
def test_bad_input_gets_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = perfeng(*args, "--dry-run") if args[0] == "load" else perfeng(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_malformed_toml_and_unknown_keys(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('base_url = "http://127.0.0.1:1"\n[[requests]\n')
    result = perfeng("load", str(bad), "--dry-run")
    assert result.returncode == 2
    assert "bad.toml:2:" in result.stderr
    typo = tmp_path / "typo.toml"
    typo.write_text(
        'base_url = "http://127.0.0.1:1"\n[[requests]]\npath = "/"\nwieght = 2\n'
        '[[workloads]]\ntype = "users"\nusers = 1\nduration = "1s"\n'
    )
    result = perfeng("load", str(typo), "--dry-run")
    assert result.returncode == 2
    assert "did you mean 'weight'" in result.stderr


def test_documented_examples_run_against_a_real_target(fast: FastServer, tmp_path: Path) -> None:
    examples = Path(__file__).parents[2] / "examples"
    for name in ("basic.toml", "login-flow.toml"):
        text = (examples / name).read_text().replace("http://127.0.0.1:8080", fast.url)
        scenario = tmp_path / name
        scenario.write_text(text)
        for csv in examples.glob("*.csv"):
            (tmp_path / csv.name).write_text(csv.read_text())
        result = perfeng("load", str(scenario), "--duration", "1s", "--rate", "50", "--json")
        assert result.returncode == 0, result.stderr
        summary = json.loads(result.stdout)
        assert summary["requests"] == 50
        assert summary["errors"] == 0, summary["errors_by_class"]


def test_python_flows_correlate_requests(fast: FastServer, tmp_path: Path) -> None:
    flows = tmp_path / "flows.py"
    flows.write_text(
        "async def flow(session):\n"
        "    r = await session.get('/json', name='login')\n"
        "    token = r.json()['token']\n"
        "    r = await session.post('/echo', json={'token': token}, name='use')\n"
        "    assert r.json() == {'token': 'abc123'}\n"
    )
    result = perfeng(
        "load", str(flows), "--base-url", fast.url, "--users", "2", "--duration", "0.5s", "--json"
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert set(summary["by_name"]) == {"login", "use"}
    assert summary["by_name"]["login"]["requests"] == summary["by_name"]["use"]["requests"]


def _start(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*PERFENG, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_the_run_and_keeps_the_result(
    fast: FastServer, tmp_path: Path, signum: int, code: int
) -> None:
    out = tmp_path / "run.json"
    proc = _start(["load", fast.url + "/", "--rate", "50", "--duration", "60s", "--out", str(out)])
    time.sleep(2.0)
    started = time.monotonic()
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=20)
    assert proc.returncode == code, stderr
    assert time.monotonic() - started < 10
    document = json.loads(out.read_text())
    assert document["interrupted"] == signal.Signals(signum).name
    assert document["summary"]["requests"] > 20


def test_a_killed_run_leaves_its_last_checkpoint(fast: FastServer, tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    proc = _start(["load", fast.url + "/", "--rate", "50", "--duration", "60s", "--out", str(out)])
    deadline = time.monotonic() + 20
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.kill()
    proc.communicate(timeout=10)
    document = json.loads(out.read_text())
    assert document["partial"] is True
    assert document["summary"]["requests"] >= 400
    assert len(document["summary"]["timeseries"]) >= 9


def test_a_second_sigint_skips_the_grace_period(tmp_path: Path) -> None:
    with serve_in_thread(BrokenServer()) as broken:
        out = tmp_path / "run.json"
        proc = _start(
            [
                "load",
                broken.url + "/hang",
                "--rate",
                "20",
                "--duration",
                "60s",
                "--grace",
                "30s",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        time.sleep(1.5)
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)
    assert proc.returncode == 130
    assert time.monotonic() - started < 5
    summary = json.loads(out.read_text())["summary"]
    assert summary["errors_by_class"]["timeout"] == summary["requests"] > 0


def test_an_abort_threshold_stops_early(tmp_path: Path) -> None:
    with serve_in_thread(FastServer()) as server:
        started = time.monotonic()
        result = perfeng(
            "load",
            server.url + "/status/500",
            "--rate",
            "50",
            "--duration",
            "30s",
            "--quiet",
            "--threshold",
            "error_rate<5%:abort=1s",
            "--out",
            str(tmp_path / "run.json"),
        )
    assert result.returncode == 1
    assert time.monotonic() - started < 10
    document = json.loads((tmp_path / "run.json").read_text())
    assert document["interrupted"].startswith("abort:")


def test_merge_adds_runs_exactly(fast: FastServer, tmp_path: Path) -> None:
    a, b, merged = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "all.json"
    for out in (a, b):
        result = perfeng(
            "load", fast.url + "/", "--rate", "40", "--duration", "1s", "--quiet", "--out", str(out)
        )
        assert result.returncode == 0, result.stderr
    result = perfeng("merge", str(a), str(b), "-o", str(merged), "--threshold", "requests==80")
    assert result.returncode == 0, result.stderr
    summary = json.loads(merged.read_text())["summary"]
    assert summary["requests"] == 80
    assert sum(e["requests"] for e in summary["timeseries"]) == 80
    assert summary["thresholds"][0]["pass"] is True


def test_merge_refuses_a_newer_format(tmp_path: Path) -> None:
    future = tmp_path / "future.json"
    future.write_text(json.dumps({"format": "perfeng-run", "format_version": 99, "summary": {}}))
    result = perfeng("merge", str(future), "-o", str(tmp_path / "x.json"))
    assert result.returncode == 2
    assert "newer" in result.stderr


if os.environ.get("PERFENG_SKIP_SLOW"):
    pytestmark = pytest.mark.skip("PERFENG_SKIP_SLOW set")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ('{"format": "perfeng-run", "format_ver', "not valid JSON"),
        ('{"hello": 1}', "not a perfeng run result"),
        ('{"format": "perfeng-run", "format_version": 7, "summary": {}}', "newer"),
    ],
)
def test_report_refuses_bad_results(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "run.json"
    if content is not None:
        path.write_text(content)
    result = perfeng("report", str(path), "--format", "md")
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_report_markdown_and_junit_of_a_real_run(fast: FastServer, tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    done = perfeng(
        "load",
        fast.url + "/",
        "--rate",
        "20",
        "--duration",
        "0.5s",
        "--quiet",
        "--threshold",
        "p99<1s",
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    md = perfeng("report", str(out), "--format", "md")
    assert md.returncode == 0 and "**PASS**" in md.stdout
    xml = tmp_path / "junit.xml"
    result = perfeng("report", str(out), "--format", "junit", "-o", str(xml))
    assert result.returncode == 0
    assert 'tests="1"' in xml.read_text()


def test_capacity_queue_json_has_exactly_the_documented_keys() -> None:
    result = perfeng(
        "capacity",
        "queue",
        "--arrival-rate",
        "200/h",
        "--service-time",
        "3m",
        "--servers",
        "14",
        "--wait-target",
        "20s",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert list(figures) == [
        "servers",
        "offered_load_erlangs",
        "utilisation",
        "p_wait",
        "service_level",
        "mean_wait_s",
        "mean_response_s",
        "mean_queue_length",
        "mean_in_system",
    ]
    assert round(figures["p_wait"], 4) == 0.1741
    assert round(figures["mean_wait_s"], 2) == 7.84


def test_capacity_queue_finds_the_fewest_servers() -> None:
    result = perfeng(
        "capacity",
        "queue",
        "--arrival-rate",
        "200/h",
        "--service-time",
        "3m",
        "--wait-target",
        "20s",
        "--service-level",
        "80%",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("servers: 14")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--arrival-rate", "10/s", "--service-time", "1s", "--servers", "5"], "without bound"),
        (["--arrival-rate", "fast", "--service-time", "1s"], "invalid rate"),
        (
            [
                "--arrival-rate",
                "1/s",
                "--service-time",
                "1s",
                "--service-level",
                "120%",
                "--wait-target",
                "1s",
            ],
            "between 0 and 1",
        ),
        (
            ["--arrival-rate", "1/s", "--service-time", "1s", "--service-level", "0.8"],
            "needs --wait-target",
        ),
    ],
)
def test_capacity_queue_bad_input(args: list[str], message: str) -> None:
    result = perfeng("capacity", "queue", *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_capacity_fit_json(tmp_path: Path) -> None:
    data = tmp_path / "sdm91.csv"
    data.write_text(
        "concurrency,throughput\n1,64.9\n18,995.9\n36,1652.4\n72,1853.2\n"
        "108,1828.9\n144,1775\n216,1702.2\n"
    )
    result = perfeng("capacity", "fit", str(data), "--json")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert f"{figures['sigma']:.4g}" == "0.02773"
    assert round(figures["n_star"], 2) == 96.52
    assert set(figures) >= {
        "sigma",
        "kappa",
        "lambda",
        "n_star",
        "x_max",
        "r_squared",
        "sigma_ci",
        "kappa_ci",
        "lambda_ci",
        "amdahl",
    }
    text = perfeng("capacity", "fit", str(data))
    assert "peak: 1883.9 at concurrency 96.5" in text.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("1,2\n3,4\n5,6\n", "header"),
        ("concurrency,throughput\n1,2\n", "at least 3"),
        ("concurrency,throughput\n1,2\n2,x\n3,4\n", "expected two numbers"),
        ("concurrency,throughput\n1,2\n2,-4\n3,4\n", "not negative"),
    ],
)
def test_capacity_fit_bad_input(tmp_path: Path, content: str, message: str) -> None:
    data = tmp_path / "points.csv"
    data.write_text(content)
    result = perfeng("capacity", "fit", str(data))
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr and "nan" not in result.stdout.lower()


def _capacity_file(tmp_path: Path, best: float | None = 200.0) -> Path:
    path = tmp_path / "capacity.json"
    section = {
        "slos": ["p99<200ms"],
        "target": "http://x/",
        "max_sustainable_rps": best,
        "steps": [],
    }
    path.write_text(
        json.dumps({"format": "perfeng-capacity", "format_version": 1, "capacity": section})
    )
    return path


def test_capacity_plan_linear_and_usl(tmp_path: Path) -> None:
    found = _capacity_file(tmp_path)
    result = perfeng(
        "capacity",
        "plan",
        str(found),
        "--target-rate",
        "5000",
        "--slo",
        "p99<200ms",
        "--headroom",
        "30%",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["instances"] == 33  # 6,500/s over 200/s per instance
    assert any("linearly" in a for a in plan["assumptions"])
    points = tmp_path / "scale.csv"
    points.write_text("instances,throughput\n1,200\n2,390\n4,740\n8,1300\n")
    result = perfeng(
        "capacity", "plan", str(found), "--target-rate", "1000", "--scale-out", str(points)
    )
    assert result.returncode == 0, result.stderr
    assert "USL fit" in result.stdout


@pytest.mark.parametrize(
    ("best", "args", "message"),
    [
        (None, ["--target-rate", "100"], "no rate met the SLOs"),
        (200.0, ["--target-rate", "lots"], "invalid rate"),
        (200.0, ["--target-rate", "100", "--headroom", "300%"], "between 0 and 1"),
    ],
)
def test_capacity_plan_bad_input(
    tmp_path: Path, best: float | None, args: list[str], message: str
) -> None:
    result = perfeng("capacity", "plan", str(_capacity_file(tmp_path, best)), *args)
    assert result.returncode == 2
    assert message in result.stderr


def test_capacity_plan_refuses_other_files(tmp_path: Path) -> None:
    other = tmp_path / "run.json"
    other.write_text('{"format": "perfeng-run"}')
    result = perfeng("capacity", "plan", str(other), "--target-rate", "100")
    assert result.returncode == 2
    assert "not a perfeng capacity result" in result.stderr


def test_capacity_fit_reads_a_capacity_result(tmp_path: Path) -> None:
    from perfeng.analysis.scalability import usl

    steps = [
        {
            "target_rate": r,
            "achieved_rps": usl(n, 0.05, 0.002, 100.0),
            "concurrency": n,
            "pass": True,
        }
        for r, n in ((50, 1), (100, 2), (200, 4), (400, 8), (800, 16))
    ]
    path = tmp_path / "capacity.json"
    path.write_text(
        json.dumps(
            {"format": "perfeng-capacity", "format_version": 1, "capacity": {"steps": steps}}
        )
    )
    result = perfeng("capacity", "fit", str(path), "--json")
    assert result.returncode == 0, result.stderr
    assert round(json.loads(result.stdout)["sigma"], 3) == 0.05
