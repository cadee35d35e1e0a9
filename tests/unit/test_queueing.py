"""Erlang C against published worked examples."""

from __future__ import annotations

import pytest

from perfeng.analysis.queueing import UnstableQueue, erlang_c, fewest_servers, mmc


def test_call_centre_example() -> None:
    """100 calls per 30 min, 3 min handling, 14 agents, 20 s target (the worked example in
    the Erlang C literature, e.g. callcentrehelper.com): P(wait) 0.1741, SL 88.8 %, ASA 7.84 s."""
    m = mmc(arrival_rate=100 / 1800, service_time=180, servers=14, wait_target=20)
    assert m.offered_load_erlangs == pytest.approx(10)
    assert m.p_wait == pytest.approx(0.1741, abs=5e-5)
    assert m.service_level == pytest.approx(0.888, abs=5e-4)
    assert m.mean_wait_s == pytest.approx(7.84, abs=5e-3)


def test_mm1_textbook_example() -> None:
    """M/M/1 with arrivals 0.8/min and service 1/min: L = 4, W = 5 min (rho / (1 - rho))."""
    m = mmc(arrival_rate=0.8 / 60, service_time=60, servers=1)
    assert m.mean_in_system == pytest.approx(4)
    assert m.mean_response_s == pytest.approx(300)
    assert m.p_wait == pytest.approx(0.8)  # Erlang C for one server is rho


def test_fewest_servers_for_a_service_level() -> None:
    """The same example's answer: 14 agents for 80 % answered within 20 s (13 give 79.6 %)."""
    m = fewest_servers(100 / 1800, 180, service_level=0.8, wait_target=20)
    assert m.servers == 14
    level = mmc(100 / 1800, 180, 13, 20).service_level
    assert level is not None and level == pytest.approx(0.7956, abs=5e-4)


def test_thousands_of_servers_do_not_overflow() -> None:
    m = mmc(arrival_rate=4000.0, service_time=1.0, servers=4100, wait_target=0.1)
    assert 0.0 <= m.p_wait < 0.1
    assert m.service_level is not None and m.service_level > 0.9


def test_unstable_queue_is_refused() -> None:
    with pytest.raises(UnstableQueue, match="grows without bound"):
        erlang_c(10, 10.0)


def test_max_utilisation() -> None:
    m = fewest_servers(10.0, 1.0, max_utilisation=0.7)
    assert m.servers == 15 and m.utilisation <= 0.7
