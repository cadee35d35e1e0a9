"""The generated SLO rules, checked by promtool and unit-tested with `promtool test rules`:
a fast burn pages within minutes, a slow burn opens a ticket without paging, a budget-neutral
error rate alerts nothing, and a short blip does not page."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from perfeng.model.slo import read_spec
from perfeng.monitor.rules import render
from tests.conftest import require_program

DOCS = Path(__file__).resolve().parents[2] / "docs" / "slo"
OK = 'http_requests_total{job="api",code="200"}'
ERR = 'http_requests_total{job="api",code="500"}'


@pytest.fixture(scope="module")
def promtool() -> str:
    return require_program("promtool")


@pytest.mark.parametrize("spec", ["api.toml", "sloth.yml", "openslo.yml"])
def test_each_spec_format_gives_rules_promtool_accepts(
    promtool: str, spec: str, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(render(read_spec(DOCS / spec)))
    done = subprocess.run(
        [promtool, "check", "rules", str(rules)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def _counter(per_minute: list[tuple[int, int]]) -> str:
    """promtool's expanding notation for a counter growing ``rate`` a minute for ``n``
    minutes, segment after segment."""
    parts, value = [], 0
    for rate, minutes in per_minute:
        parts.append(f"{value}+{rate}x{minutes}")
        value += rate * minutes
    return " ".join(parts)


def _alert(severity: str, route: str) -> dict[str, Any]:
    return {
        "exp_labels": {
            "team": "payments",
            "slo_id": "api-availability",
            "slo_service": "api",
            "slo_name": "availability",
            "route": route,
            "slo_severity": severity,
        },
        "exp_annotations": {
            "title": f"(slo_severity={severity}) api availability SLO error budget burn rate "
            "is too high.",
            "summary": "api availability: the error budget of a 99.9% SLO over 30d is burning "
            "faster than planned.",
            "runbook": "https://example.org/runbooks/api-availability",
        },
    }


PAGE, TICKET = _alert("page", "oncall"), _alert("ticket", "tickets")


def _case(
    ok: list[tuple[int, int]], err: list[tuple[int, int]], checks: list[tuple[str, list[Any]]]
) -> dict[str, Any]:
    return {
        "interval": "1m",
        "input_series": [
            {"series": OK, "values": _counter(ok)},
            {"series": ERR, "values": _counter(err)},
        ],
        "alert_rule_test": [
            {"eval_time": at, "alertname": "ApiAvailability", "exp_alerts": alerts}
            for at, alerts in checks
        ],
    }


CASES = {
    # 10 % errors against a 0.1 % budget: burn rate 100; pages (and tickets) in minutes
    "fast burn pages": _case(
        [(900, 180)], [(100, 180)], [("0m", []), ("2m", [PAGE, TICKET]), ("2h", [PAGE, TICKET])]
    ),
    # 0.2 % errors: burn rate 2, under every page factor (14.4, 6) and the 1d/2h ticket's 3,
    # over the 3d/6h ticket's 1
    "slow burn tickets, never pages": _case(
        [(998, 600)], [(2, 600)], [("30m", [TICKET]), ("7h", [TICKET]), ("10h", [TICKET])]
    ),
    # 0.05 % errors: half the budget's rate, nothing fires
    "budget-neutral rate alerts nothing": _case(
        [(1999, 600)], [(1, 600)], [("30m", []), ("6h", []), ("10h", [])]
    ),
    # a clean day, then 10 % errors for 5 minutes (about 1 % of the month's budget): the
    # 5-minute window burns fast but the hour's does not reach 14.4, so no page
    "short blip does not page": _case(
        [(1000, 1510)],
        [(0, 1440), (100, 5), (0, 65)],
        [("1443m", []), ("1446m", []), ("1455m", []), ("1500m", [])],
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_burn_rate_alerts_behave(promtool: str, name: str, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(render(read_spec(DOCS / "api.toml")))
    _promtool_test(promtool, tmp_path, rules, [CASES[name]])


def test_latency_slo_pages_on_slow_requests(promtool: str, tmp_path: Path) -> None:
    """The latency SLI reads the histogram's bucket at the threshold: 20 % of requests over
    300 ms against a 1 % budget pages."""
    rules = tmp_path / "rules.yml"
    rules.write_text(render(read_spec(DOCS / "api.toml")))
    base = 'http_request_duration_seconds_{}{{job="api"{}}}'
    series = [
        {"series": base.format("count", ""), "values": _counter([(1000, 120)])},
        {"series": base.format("bucket", ',le="0.3"'), "values": _counter([(800, 120)])},
        {"series": base.format("bucket", ',le="+Inf"'), "values": _counter([(1000, 120)])},
    ]
    labels = {"team": "payments", "slo_id": "api-latency", "slo_service": "api"}
    labels |= {"slo_name": "latency", "slo_severity": "page"}
    annotations = {
        "title": "(slo_severity=page) api latency SLO error budget burn rate is too high.",
        "summary": "api latency: the error budget of a 99% SLO over 30d is burning faster "
        "than planned.",
    }
    ticket = {**labels, "slo_severity": "ticket"}
    expected = [
        {"exp_labels": labels, "exp_annotations": annotations},
        {
            "exp_labels": ticket,
            "exp_annotations": {
                **annotations,
                "title": annotations["title"].replace("page", "ticket"),
            },
        },
    ]
    _promtool_test(
        promtool,
        tmp_path,
        rules,
        [
            {
                "interval": "1m",
                "input_series": series,
                "alert_rule_test": [
                    {"eval_time": "10m", "alertname": "ApiLatency", "exp_alerts": expected}
                ],
                "promql_expr_test": [
                    {
                        "expr": 'slo:sli_error:ratio_rate5m{slo_id="api-latency"}',
                        "eval_time": "10m",
                        "exp_samples": [
                            {
                                "labels": _series("slo:sli_error:ratio_rate5m", labels, "5m"),
                                "value": 0.2,
                            }
                        ],
                    }
                ],
            }
        ],
    )


def _series(name: str, labels: dict[str, str], window: str) -> str:
    kept = {k: v for k, v in labels.items() if k != "slo_severity"}
    kept["slo_window"] = window
    inside = ",".join(f'{k}="{v}"' for k, v in kept.items())
    return f"{name}{{{inside}}}"


def test_no_error_series_yet_reads_as_zero_errors(promtool: str, tmp_path: Path) -> None:
    """Before the first 5xx the error series does not exist: the ratio is 0, not missing."""
    rules = tmp_path / "rules.yml"
    rules.write_text(render(read_spec(DOCS / "api.toml")))
    labels = 'slo_id="api-availability",slo_name="availability",slo_service="api"'
    expected = f'slo:sli_error:ratio_rate5m{{{labels},slo_window="5m",team="payments"}}'
    _promtool_test(
        promtool,
        tmp_path,
        rules,
        [
            {
                "interval": "1m",
                "input_series": [{"series": OK, "values": _counter([(1000, 30)])}],
                "promql_expr_test": [
                    {
                        "expr": 'slo:sli_error:ratio_rate5m{slo_id="api-availability"}',
                        "eval_time": "10m",
                        "exp_samples": [{"labels": expected, "value": 0}],
                    }
                ],
                "alert_rule_test": [
                    {"eval_time": "10m", "alertname": "ApiAvailability", "exp_alerts": []}
                ],
            }
        ],
    )


def _promtool_test(promtool: str, folder: Path, rules: Path, tests: list[Any]) -> None:
    """Runs `promtool test rules` on these test cases; their failures in the message."""
    path = folder / "tests.yml"
    document = {"rule_files": [str(rules)], "evaluation_interval": "1m", "tests": tests}
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    done = subprocess.run(
        [promtool, "test", "rules", str(path)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
