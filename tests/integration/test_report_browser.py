"""The HTML report in a real headless Chromium: it renders, runs nothing, fetches nothing."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from perfeng.testing.servers import FastServer, serve_in_thread
from tests.conftest import require_program

ARTIFACTS = Path(__file__).parents[2] / "test-artifacts"
NASTY = "<script>alert(1)</script>"
# Chromium's own background traffic (update checks, accounts), not the page's.
BROWSER_HOSTS = re.compile(r"^https?://[^/]*(google\.com|googleapis\.com|gvt1\.com|gstatic\.com)/")


def perfeng(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "perfeng", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
    ]
    return subprocess.run(
        [binary, *flags, *args], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("report")
    (work / "flows.py").write_text(
        "async def flow(session):\n"
        f"    await session.get('/', name={NASTY!r})\n"
        "    await session.get('/status/503', name='fails')\n"
    )
    with serve_in_thread(FastServer()) as server:
        for name in ("base", "head"):
            done = perfeng(
                "load",
                "flows.py",
                "--base-url",
                server.url,
                "--users",
                "2",
                "--duration",
                "2s",
                "--quiet",
                "--out",
                f"{name}.json",
                "--threshold",
                "p99<1s",
                "-H",
                "Authorization: Bearer s3cret",
                cwd=work,
            )
            assert done.returncode in (0, 1), done.stderr
    single = perfeng("report", "head.json", "-o", "report.html", cwd=work)
    assert single.returncode == 0, single.stderr
    diff = perfeng("report", "base.json", "head.json", "-o", "diff.html", cwd=work)
    assert diff.returncode == 0, diff.stderr
    return {"report": work / "report.html", "diff": work / "diff.html", "work": work}


@pytest.mark.parametrize("which", ["report", "diff"])
def test_the_report_renders_in_chromium(reports: dict[str, Path], which: str) -> None:
    binary = require_program("chromium")
    page = reports[which]
    work = reports["work"]
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"{which}.png"
    netlog = work / f"{which}-net.json"
    dom = chromium(
        binary, work / f"profile-{which}", f"--log-net-log={netlog}", "--dump-dom", page.as_uri()
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    shown = chromium(
        binary,
        work / f"profile-{which}-shot",
        "--window-size=1000,3000",
        f"--screenshot={shot}",
        page.as_uri(),
    )
    assert shown.returncode == 0
    assert shot.stat().st_size > 20_000  # a real picture, kept as a test artefact
    assert "CONSOLE" not in dom.stderr  # nothing logged to the console, no error
    urls = set(re.findall(r'"url":"([^"]+)"', netlog.read_text()))
    leaving = {
        u for u in urls if not u.startswith(("file:", "data:")) and not BROWSER_HOSTS.match(u)
    }
    assert leaving == set()
    if which == "report":  # the hostile request name is shown as text, never as an element
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom.stdout
        assert "<script" not in dom.stdout.lower()
    check_charts(dom.stdout, panels=4 if which == "report" else 3)


def check_charts(dom: str, panels: int) -> None:
    """matplotlib charts (one figure may hold several panels on one time axis) that each drew
    something, and flame graphs with their boxes."""
    svgs = re.findall(r"<svg.*?</svg>", dom, flags=re.DOTALL)
    charts = [svg for svg in svgs if 'role="img"' not in svg]
    flames = [svg for svg in svgs if 'role="img"' in svg]
    assert sum(len(re.findall(r'<g id="axes_\d+"', svg)) for svg in charts) >= panels
    assert all(svg.count("<path") >= 3 for svg in charts)  # every chart drew something
    assert all(svg.count("<rect") >= 3 for svg in flames)


def test_a_watched_run_shows_findings_resources_and_flame_graphs(tmp_path: Path) -> None:
    import socket

    from tests.services.launch import command

    binary = require_program("chromium")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    root = Path(__file__).parents[2]
    load = perfeng(
        "load",
        f"http://127.0.0.1:{port}/cpu",
        "--rate",
        "20",
        "--stages",
        "4s:300",
        "--target-cmd",
        " ".join(command("threaded", port)),
        "--out",
        str(tmp_path / "run.json"),
        "--quiet",
        cwd=root,  # the test services are imported from the repository
    )
    assert load.returncode in (0, 1), load.stderr
    done = perfeng("report", "run.json", "-o", "report.html", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    dom = chromium(binary, tmp_path / "profile", "--dump-dom", (tmp_path / "report.html").as_uri())
    assert dom.returncode == 0
    assert "CONSOLE" not in dom.stderr
    assert 'class="finding' in dom.stdout and "Next:" in dom.stdout
    assert "Target CPU" in dom.stdout and "Target memory" in dom.stdout
    assert "checksum_orders" in dom.stdout  # the service's CPU function, in the flame graph
    check_charts(dom.stdout, panels=6)  # throughput, latency, errors, CPU, memory, percentiles


def test_user_strings_are_shown_not_run(reports: dict[str, Path]) -> None:
    text = reports["report"].read_text()
    assert "<script" not in text.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "s3cret" not in text
    assert not re.search(r"""(src|href)\s*=\s*["']?https?:""", text)


def test_report_documents_are_json_backed(reports: dict[str, Path]) -> None:
    head = json.loads((reports["work"] / "head.json").read_text())
    assert NASTY in head["summary"]["by_name"]


def test_capacity_pages_render_in_chromium(tmp_path: Path) -> None:
    binary = require_program("chromium")
    found = tmp_path / "capacity.json"
    steps = [
        {
            "target_rate": r,
            "achieved_rps": min(r, 190.0),
            "p50_ms": 5.0,
            "p90_ms": 6.0,
            "p99_ms": 7.0 if r < 190 else 120.0,
            "mean_ms": 5.5,
            "error_rate": 0.0,
            "concurrency": r * 0.0055,
            "pass": r < 190,
        }
        for r in (50, 100, 200, 150, 175)
    ]
    found.write_text(
        json.dumps(
            {
                "format": "perfeng-capacity",
                "format_version": 1,
                "capacity": {
                    "slos": ["p99<50ms"],
                    "target": "http://127.0.0.1:1/lock",
                    "max_sustainable_rps": 175.0,
                    "first_failing_rps": 200.0,
                    "knee_rps": 175.0,
                    "steps": steps,
                },
            }
        )
    )
    assert perfeng("report", str(found), "-o", "capacity.html", cwd=tmp_path).returncode == 0
    data = tmp_path / "sdm91.csv"
    data.write_text(
        "concurrency,throughput\n1,64.9\n18,995.9\n36,1652.4\n72,1853.2\n"
        "108,1828.9\n144,1775\n216,1702.2\n"
    )
    fitted = perfeng("capacity", "fit", str(data), "--chart", "fit.html", cwd=tmp_path)
    assert fitted.returncode == 0, fitted.stderr
    for name, charts_wanted in (("capacity.html", 2), ("fit.html", 1)):
        page = tmp_path / name
        dom = chromium(binary, tmp_path / f"profile-{name}", "--dump-dom", page.as_uri())
        assert dom.returncode == 0
        assert "CONSOLE" not in dom.stderr
        assert "<script" not in dom.stdout.lower()
        svgs = re.findall(r"<svg.*?</svg>", dom.stdout, flags=re.DOTALL)
        assert len(svgs) == charts_wanted
        assert all(svg.count("<path") >= 3 for svg in svgs)
