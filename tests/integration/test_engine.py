"""The engine against real loopback servers: framing, errors, timeouts, TLS, the open model."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from perfeng.scenario.model import Check
from perfeng.testing.servers import (
    BrokenServer,
    FastServer,
    StallServer,
    closed_port,
    make_self_signed_cert,
    make_server,
    serve_in_thread,
)
from tests.conftest import require_program
from tests.integration.engine_helpers import run, scenario


@pytest.fixture(scope="module")
def fast() -> Iterator[FastServer]:
    with serve_in_thread(FastServer()) as server:
        yield server


@pytest.fixture(scope="module")
def broken() -> Iterator[BrokenServer]:
    with serve_in_thread(BrokenServer()) as server:
        yield server


def errors(summary: dict[str, object]) -> dict[str, int]:
    by_class = summary["errors_by_class"]
    assert isinstance(by_class, dict)
    return {k: v for k, v in by_class.items() if v}


def test_closed_model_keeps_connections_and_counts(fast: FastServer) -> None:
    summary, generator = run(scenario(fast.url + "/", users=4, duration=0.6))
    assert summary["requests"] > 50
    assert summary["errors"] == 0
    assert summary["by_name"]["r"]["requests"] == summary["requests"]
    assert generator["connections_opened"] == 4  # keep-alive: one per user
    lat, svc = summary["latency_ms"], summary["service_time_ms"]
    assert lat["p50"] == pytest.approx(svc["p50"], rel=0.2, abs=0.05)


def test_closed_users_record_every_answer_the_server_gave() -> None:
    """Closed users send each next request from the connection's callback (the pump): every
    request the server answered is one sample, none twice, none lost at the stop."""
    with serve_in_thread(FastServer()) as server:
        summary, _ = run(scenario(server.url + "/", users=3, duration=0.5))
        answered = server.requests
    assert summary["requests"] == answered > 100
    assert summary["errors"] == 0


def test_a_closed_user_sees_a_stall_and_a_timeout_then_goes_on() -> None:
    """A freeze longer than the read timeout on a pumped connection: the request in flight
    is a timeout as long as the timeout, and the user reconnects and goes on."""
    with serve_in_thread(StallServer(delay_ms=1.0, stall_at_s=0.3, stall_for_s=0.8)) as server:
        summary, generator = run(scenario(server.url + "/", users=1, duration=1.6, timeout=0.4))
    timeouts = errors(summary)
    assert set(timeouts) == {"timeout"} and 1 <= timeouts["timeout"] <= 2  # 2: the reconnect
    assert summary["latency_ms"]["max"] >= 400  # the wait up to the timeout is recorded
    assert generator["connections_opened"] >= 2  # the timed-out connection was dropped
    assert summary["requests"] - summary["errors"] > 100  # before and after the freeze


def test_open_model_sends_the_planned_arrivals(fast: FastServer) -> None:
    summary, generator = run(scenario(fast.url + "/", rate=200, duration=1.0))
    assert summary["requests"] + summary["dropped"] == 200
    assert summary["dropped"] == 0
    assert generator["schedule_lag_ms"]["p50"] < 1.0


@pytest.mark.parametrize(
    ("path", "method", "expected_errors"),
    [
        ("/chunked", "GET", set()),
        ("/close", "GET", set()),
        ("/", "HEAD", set()),
        ("/status/204", "GET", set()),
        ("/status/304", "GET", set()),
        ("/redirect", "GET", set()),  # not followed: a 302 is an answer, not an error
        ("/status/404", "GET", {"http_4xx"}),
        ("/status/503", "GET", {"http_5xx"}),
        ("/big?bytes=300000", "GET", set()),
    ],
)
def test_framing_and_status_classes(
    fast: FastServer, path: str, method: str, expected_errors: set[str]
) -> None:
    summary, _ = run(scenario(fast.url + path, users=2, duration=0.3, method=method))
    assert summary["requests"] > 2
    assert set(errors(summary)) == expected_errors
    if not expected_errors:
        assert summary["errors"] == 0


def test_checks_fail_requests_that_answer_wrongly(fast: FastServer) -> None:
    checks = (
        Check("status", statuses=frozenset({200})),
        Check("json_path", path="items[0].id", expected=8),
    )
    summary, _ = run(scenario(fast.url + "/json", users=1, duration=0.2, checks=checks))
    assert errors(summary) == {"check_failed": summary["requests"]}
    ok = (Check("json_path", path="items[0].id", expected=7), Check("body_contains", text="abc"))
    summary, _ = run(scenario(fast.url + "/json", users=1, duration=0.2, checks=ok))
    assert summary["errors"] == 0


def test_a_refused_connection_is_a_connect_error() -> None:
    summary, _ = run(scenario(f"http://127.0.0.1:{closed_port()}/", rate=50, duration=0.2))
    assert summary["requests"] == 10
    assert errors(summary) == {"connect": 10}
    assert summary["latency_ms"]["p50"] is None  # no answer, no latency


def test_an_unresolvable_host_is_a_dns_error() -> None:
    summary, _ = run(scenario("http://no-such-host.invalid/", rate=20, duration=0.1))
    assert set(errors(summary)) == {"dns"}


@pytest.mark.parametrize(
    ("path", "expected"),
    [("/reset", "reset"), ("/garbage", "protocol"), ("/eof", "reset")],
)
def test_broken_answers_are_classified(broken: BrokenServer, path: str, expected: str) -> None:
    summary, _ = run(scenario(broken.url + path, rate=40, duration=0.25))
    assert summary["requests"] == 10
    assert errors(summary) == {expected: 10}


def test_a_target_that_never_answers_times_out_without_hanging(broken: BrokenServer) -> None:
    started = time.monotonic()
    summary, _ = run(scenario(broken.url + "/hang", rate=20, duration=0.3, timeout=0.4))
    assert errors(summary) == {"timeout": 6}
    assert summary["latency_ms"]["min"] >= 400  # a timeout's wait is part of the latency
    assert time.monotonic() - started < 3


@pytest.mark.parametrize("path", ["/huge", "/slow-body"])
def test_huge_or_slow_bodies_end_at_the_total_timeout(broken: BrokenServer, path: str) -> None:
    started = time.monotonic()
    summary, _ = run(scenario(broken.url + path, rate=10, duration=0.2, timeout=0.5))
    assert errors(summary) == {"timeout": 2}
    assert time.monotonic() - started < 3


def test_grace_then_cancel_counts_in_flight_requests_as_timeouts(broken: BrokenServer) -> None:
    started = time.monotonic()
    summary, _ = run(scenario(broken.url + "/hang", rate=20, duration=0.3, timeout=30), grace_s=0.3)
    elapsed = time.monotonic() - started
    assert errors(summary) == {"timeout": 6}
    assert elapsed < 2.0


def test_max_in_flight_drops_arrivals_instead_of_delaying_them(broken: BrokenServer) -> None:
    scn = scenario(broken.url + "/hang", rate=100, duration=0.5, timeout=5, max_in_flight=10)
    summary, _ = run(scn, grace_s=0.1)
    assert summary["dropped"] == 40
    assert summary["requests"] == 10


def test_a_stall_shows_in_the_latency_as_wrk2_would_show_it() -> None:
    """A 1 s freeze in a 3 s run at 200 req/s: the 200 arrivals of that second (a third of
    all) wait 1 s down to 0 s, so p90 sits near 0.7 s and p99 near 1 s."""
    with serve_in_thread(StallServer(delay_ms=1.0, stall_at_s=1.0, stall_for_s=1.0)) as server:
        summary, _ = run(scenario(server.url + "/", rate=200, duration=3.0))
    assert summary["requests"] + summary["dropped"] == 600
    assert summary["dropped"] == 0
    latency = summary["latency_ms"]
    assert latency["p50"] < 50
    assert 600 < latency["p90"] < 800
    assert latency["p99"] > 900
    assert summary["service_time_ms"]["p99"] <= latency["p99"]


def test_tls_with_and_without_verification(tmp_path: Path) -> None:
    require_program("openssl")
    cert, key = make_self_signed_cert(tmp_path)
    with serve_in_thread(make_server("tls", certfile=cert, keyfile=key)) as server:
        summary, _ = run(scenario(server.url + "/", users=2, duration=0.3, insecure=True))
        assert summary["requests"] > 5
        assert summary["errors"] == 0
        summary, _ = run(scenario(server.url + "/", rate=20, duration=0.1))
        assert set(errors(summary)) == {"tls"}


def test_request_bodies_reach_the_target(fast: FastServer) -> None:
    before = fast.requests
    summary, _ = run(
        scenario(
            fast.url + "/echo",
            users=1,
            duration=0.2,
            method="POST",
            body="hello",
            checks=(Check("body_contains", text="hello"),),
        )
    )
    assert summary["errors"] == 0
    assert fast.requests - before == summary["requests"]


def test_redirects_are_followed_only_when_asked(fast: FastServer) -> None:
    check = (Check("json_path", path="token", expected="abc123"),)
    summary, _ = run(
        scenario(fast.url + "/redirect", users=1, duration=0.2, checks=check, follow_redirects=True)
    )
    assert summary["requests"] > 2
    assert summary["errors"] == 0
    summary, _ = run(scenario(fast.url + "/redirect", users=1, duration=0.2, checks=check))
    assert errors(summary) == {"check_failed": summary["requests"]}


def test_think_time_paces_closed_users(fast: FastServer) -> None:
    from dataclasses import replace

    from perfeng.scenario.model import ThinkTime

    base = scenario(fast.url + "/", users=2, duration=1.0)
    summary, _ = run(replace(base, think_time=ThinkTime("constant", 0.1)))
    assert 14 <= summary["requests"] <= 22  # 2 users x ~10 iterations of ~0.1 s
    summary, _ = run(replace(base, think_time=ThinkTime("pacing", 0.25)))
    assert 6 <= summary["requests"] <= 10  # 2 users x one iteration every 0.25 s


def test_ramping_users_follow_their_stages(fast: FastServer) -> None:
    from dataclasses import replace

    from perfeng.engine.workloads import RampingUsers
    from perfeng.scenario.model import ThinkTime

    workload = RampingUsers(stages=((0.5, 4.0), (0.5, 4.0)))
    base = scenario(fast.url + "/", users=1, duration=1.0)
    scn = replace(base, workloads=(workload,), think_time=ThinkTime("constant", 0.05))
    summary, generator = run(scn)
    per_second = 4 / 0.05
    assert 0.4 * per_second < summary["requests"] < 0.9 * per_second
    assert generator["connections_opened"] <= 5
