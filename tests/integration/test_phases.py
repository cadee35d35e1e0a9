"""Request phases measured against real loopback servers: the wait of a known delay, connects
only where a connection was opened, TLS handshakes over https, a name lookup for a host name,
and the finding when set-up dominates."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from perfeng.analysis.phases import breakdowns, setup_rule
from perfeng.testing.servers import FastServer, make_self_signed_cert, make_server, serve_in_thread
from tests.conftest import require_program
from tests.integration.engine_helpers import run, scenario


@pytest.fixture(scope="module")
def fast() -> Iterator[FastServer]:
    with serve_in_thread(FastServer()) as server:
        yield server


def phase_count(summary: dict[str, Any], phase: str) -> int:
    from perfeng.model import histogram as hdr

    encoded = summary["histograms"]["all"]["phases"].get(phase)
    return 0 if encoded is None else int(hdr.decode(encoded).get_total_count())


def test_the_wait_is_the_servers_delay(fast: FastServer) -> None:
    summary, _ = run(scenario(fast.url + "/delay?ms=40", users=2, duration=0.5))
    phases = summary["phases_ms"]
    assert 39.9 <= phases["ttfb"]["p50"] < 60  # the server's 40 ms and a loopback round trip
    assert phases["receive"]["p50"] < 5
    assert phase_count(summary, "connect") == 2  # one per user: keep-alive reuses them
    assert "tls" not in phases and "dns" not in phases  # plain HTTP to a literal address


def test_without_keep_alive_every_request_connects(fast: FastServer) -> None:
    base = scenario(fast.url + "/", rate=100, duration=0.5)
    summary, _ = run(replace(base, client=replace(base.client, keep_alive=False)))
    answered = phase_count(summary, "ttfb")
    assert answered >= 40
    assert phase_count(summary, "connect") == answered
    finding = setup_rule(summary)  # loopback connects are cheap: maybe, maybe not a finding
    assert finding is None or finding.figures["opened"] == answered


def test_a_host_name_is_looked_up_once(fast: FastServer) -> None:
    url = fast.url.replace("127.0.0.1", "localhost") + "/"
    summary, _ = run(scenario(url, users=3, duration=0.3))
    assert 1 <= phase_count(summary, "dns") <= 3  # the users that waited on the lookup
    assert summary["errors"] == 0


def test_tls_handshakes_are_timed_apart_from_connects(tmp_path: Path) -> None:
    require_program("openssl")
    cert, key = make_self_signed_cert(tmp_path)
    with serve_in_thread(make_server("tls", certfile=cert, keyfile=key)) as server:
        base = scenario(server.url + "/", rate=60, duration=0.5, insecure=True)
        summary, _ = run(replace(base, client=replace(base.client, keep_alive=False)))
    assert summary["errors"] == 0
    answered = phase_count(summary, "ttfb")
    assert phase_count(summary, "tls") == phase_count(summary, "connect") == answered
    phases = summary["phases_ms"]
    # A handshake (key exchange, certificate) costs far more than a loopback TCP connect.
    assert phases["tls"]["p50"] > phases["connect"]["p50"]
    finding = setup_rule(summary)
    assert finding is not None and finding.id == "connection_setup"
    assert "TLS" in finding.title
    total = next(b for b in breakdowns(summary) if b.name == "all")
    assert total.share(("dns", "connect", "tls")) >= 0.3


def test_the_cli_reports_compares_and_merges_phases(fast: FastServer, tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    def perfeng(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "perfeng", *args]
        return subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=120)

    for name in ("a", "b"):
        done = perfeng("load", fast.url + "/", "--users", "2", "--duration", "1s", "--out", name)
        assert done.returncode == 0, done.stderr
        assert "phases p50: connect " in done.stdout and " · ttfb " in done.stdout
    compared = perfeng("compare", "a", "b")
    assert "where the time went" in compared.stdout
    assert "ttfb" in compared.stdout.split("where the time went")[1]
    assert perfeng("merge", "a", "b", "-o", "ab").returncode == 0
    merged = json.loads((tmp_path / "ab").read_text())["summary"]["phases_ms"]
    assert list(merged) == ["connect", "ttfb", "receive"]
    assert "Phases, p50: connect" in perfeng("report", "ab", "--format", "md").stdout
    assert perfeng("report", "ab", "-o", "ab.html").returncode == 0
    page = (tmp_path / "ab.html").read_text()
    assert "Where the time went" in page and "new connections" in page
