"""Error budgets from buckets of events, and `perfeng slo report`'s bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from perfeng.cli.main import main
from perfeng.gates.budget import Bucket, budget_report
from perfeng.report.slo_budget import markdown, page, text

DAY = 86400.0
DOCS = Path(__file__).resolve().parents[2] / "docs" / "slo"


def _days(bad_per_day: list[float], total: float = 10_000) -> list[Bucket]:
    return [Bucket(d * DAY, (d + 1) * DAY, total, bad) for d, bad in enumerate(bad_per_day)]


def test_budget_is_counted_not_averaged() -> None:
    # ten days: a busy day with 20 errors in 100,000 and nine quiet ones with 1 in 1,000.
    buckets = [Bucket(0, DAY, 100_000, 20)]
    buckets += [Bucket(d * DAY, (d + 1) * DAY, 1000, 1) for d in range(1, 10)]
    report = budget_report("a", 99.9, 30 * DAY, buckets, "test", now_s=10 * DAY)
    # 29 bad in 109,000: 0.0266 %, not the mean of the ratios (0.092 %)
    assert report.sli == pytest.approx(100 * (1 - 29 / 109_000))
    assert report.budget_spent == pytest.approx((29 / 109_000) / 0.001)
    assert report.covered_s == pytest.approx(10 * DAY)


def test_burn_now_and_when_the_budget_runs_out() -> None:
    # 99.9 % over 30 days; steady 0.05 % errors for 10 days, then today at 0.2 % (burn 2)
    buckets = _days([5] * 10 + [20])
    report = budget_report("a", 99.9, 30 * DAY, buckets, "test", now_s=11 * DAY)
    spent = (5 * 10 + 20) / (11 * 10_000) / 0.001
    assert report.budget_remaining == pytest.approx(1 - spent)
    assert report.burn_now == pytest.approx(2.0)
    assert report.exhausted_in_s == pytest.approx((1 - spent) * 30 * DAY / 2.0)
    assert report.worst[0].bad == 20
    rendered = text([report])
    assert "budget runs out" in rendered and "at today's burn" in rendered
    assert "| burn rate now" in markdown([report])
    assert page([report]).startswith("<!doctype html>")


def test_no_data_and_spent_budgets_say_so() -> None:
    empty = budget_report("a", 99.9, 30 * DAY, [], "test", now_s=DAY)
    assert empty.sli is None and empty.burn_now is None and empty.exhausted_in_s is None
    assert "no data" in text([empty])
    spent = budget_report("a", 99.0, 30 * DAY, _days([500]), "test", now_s=DAY)
    assert spent.budget_remaining == pytest.approx(-4.0)
    assert "the budget is spent" in text([spent])
    old = budget_report("a", 99.0, 30 * DAY, _days([500]), "test", now_s=40 * DAY)
    assert old.events == 0  # outside the period


def test_raw_sli_buckets_weigh_their_ratios() -> None:
    buckets = [Bucket(0, 60, 1.0, 0.0, ratio=0.002), Bucket(60, 120, 1.0, 0.0, ratio=0.0)]
    report = budget_report("a", 99.9, 3600, buckets, "test", now_s=120)
    assert report.budget_spent == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["slo", "report", "--from", "history"], 2, "with --from history give the SLOs"),
        (["slo", "report", "p99>5ms"], 2, "invalid SLO 'p99>5ms'"),
        (["slo", "report", "--from", "ftp://x"], 2, "needs a spec file"),
        (
            ["slo", "report", str(DOCS / "api.toml"), "--from", "ftp://x"],
            2,
            "invalid --from 'ftp://x'",
        ),
        (["slo", "report", "a", "--from", "prometheus://h:1", "--period", "0d"], 2, "--period"),
        (["monitor", "http://127.0.0.1:1/"], 2, "give at least one --slo"),
        (["monitor", "http://127.0.0.1:1/", "--slo", "p99<1ms", "--every", "0s"], 2, "--every"),
        (
            ["monitor", "http://127.0.0.1:1/", "--slo", "p99<1ms", "--listen", "nope"],
            2,
            "HOST:PORT",
        ),
        (
            ["monitor", "http://127.0.0.1:1/", "--slo", "p99<1ms", "--period", "30s"],
            2,
            "at least 1m",
        ),
    ],
)
def test_bad_input_is_one_line(
    argv: list[str], code: int, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == code
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
