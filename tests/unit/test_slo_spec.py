"""SLO specs in three formats, the burn-rate windows, and bad specs named by field."""

from __future__ import annotations

from pathlib import Path

import pytest

from perfeng.cli.main import main
from perfeng.gates.slo import (
    budget_remaining,
    burn_rate,
    distinct_windows,
    exhaustion_s,
    firing,
    prometheus_duration,
    windows_for,
)
from perfeng.model.slo import SpecError, parse_period_s, parse_spec, read_spec
from perfeng.monitor.rules import rule_groups

DOCS = Path(__file__).resolve().parents[2] / "docs" / "slo"
EVENTS = {
    "error_query": 'sum(rate(x{code="500"}[{{.window}}]))',
    "total_query": "sum(rate(x[{{ .window }}]))",
}


def _sloth(**slo: object) -> dict[str, object]:
    base: dict[str, object] = {"name": "a", "objective": 99.9, "sli": {"events": EVENTS}}
    return {"version": "prometheus/v1", "service": "svc", "slos": [{**base, **slo}]}


def test_the_three_formats_read_into_one_shape() -> None:
    own = read_spec(DOCS / "api.toml")
    assert own.source == "perfeng"
    assert [o.name for o in own.objectives] == ["availability", "latency"]
    latency = own.objectives[1]
    assert latency.objective == 99.0 and latency.period_s == 30 * 86400
    assert 'le="0.3"' in (latency.error_query or "")
    assert latency.alert_name == "ApiLatency"

    sloth = read_spec(DOCS / "sloth.yml")
    assert sloth.source == "sloth"
    (objective,) = sloth.objectives
    assert objective.labels == {"owner": "myteam"}
    assert objective.page is not None and objective.page.labels == {"severity": "pageteam"}

    openslo = read_spec(DOCS / "openslo.yml")
    (objective,) = openslo.objectives
    assert openslo.source == "openslo"
    assert objective.objective == pytest.approx(99.5)
    assert objective.period_s == 28 * 86400
    # a counter selector is wrapped in a rate over the window
    assert objective.total_query == 'sum(rate(http_requests_total{job="checkout"}[{{.window}}]))'


def test_openslo_v1alpha_ratio_metrics() -> None:
    document = {
        "apiVersion": "openslo/v1alpha",
        "kind": "SLO",
        "metadata": {"name": "web"},
        "spec": {
            "service": "web",
            "timeWindows": [{"unit": "Day", "count": 7, "isRolling": True}],
            "objectives": [
                {
                    "target": 0.99,
                    "ratioMetrics": {
                        "good": {
                            "source": "prometheus",
                            "queryType": "promql",
                            "query": "ok_total",
                        },
                        "total": {
                            "source": "prometheus",
                            "queryType": "promql",
                            "query": "all_total",
                        },
                    },
                }
            ],
        },
    }
    spec = parse_spec(document, "web.yml")
    (objective,) = spec.objectives
    assert objective.period_s == 7 * 86400
    assert objective.objective == pytest.approx(99.0)
    assert "ok_total[{{.window}}]" in (objective.error_query or "")


def test_disabled_alerts_are_not_written() -> None:
    spec = parse_spec(_sloth(alerting={"page_alert": {"disable": True}}), "s.yml")
    groups = rule_groups(spec)["groups"]
    alerts = [r for g in groups for r in g["rules"] if "alert" in r]
    assert [a["labels"]["slo_severity"] for a in alerts] == ["ticket"]
    spec = parse_spec(_sloth(alerting={"disable": True}), "s.yml")
    assert all("alert" not in r for g in rule_groups(spec)["groups"] for r in g["rules"])


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (_sloth(objective=120), "slos[0].objective: 120 is outside 0-100"),
        (_sloth(objective=0), "slos[0].objective: 0 is outside 0-100"),
        (_sloth(colour="red"), "slos[0]: object contains unknown field `colour`"),
        (
            _sloth(sli={"events": {**EVENTS, "total_query": "sum(rate(x[5m]))"}}),
            "slos[0].sli.events.total_query: the query needs the {{.window}} placeholder",
        ),
        (
            _sloth(sli={"raw": {"error_ratio_query": "x"}, "events": EVENTS}),
            "slos[0].sli: give exactly one of events, raw or latency",
        ),
        ({"version": "prometheus/v1", "service": "s"}, "object missing required field `slos`"),
        (["a", "list"], "the spec must be a mapping, not list"),
        (None, "the spec must be a mapping, not empty"),
        ({"version": "sloth/v9", "service": "s", "slos": []}, "version: unknown spec version"),
        (
            {
                "service": "s",
                "period": "30 days",
                "slos": [{"name": "a", "objective": 99, "sli": {"events": EVENTS}}],
            },
            "period: invalid duration '30 days'",
        ),
        (
            {
                "service": "s",
                "slos": [
                    {
                        "name": "a",
                        "objective": 99,
                        "sli": {"latency": {"metric": "h", "threshold": "fast"}},
                    }
                ],
            },
            "slos[0].sli.latency.threshold: invalid latency threshold 'fast'",
        ),
    ],
)
def test_bad_specs_name_the_field(document: object, message: str) -> None:
    with pytest.raises(SpecError, match=None) as caught:
        parse_spec(document, "spec.yml")
    assert message in str(caught.value)
    assert str(caught.value).startswith("spec.yml: ")


def test_duplicate_names_are_refused() -> None:
    document = _sloth()
    slos = document["slos"]
    assert isinstance(slos, list)
    slos.append(dict(slos[0]))
    with pytest.raises(SpecError, match=r"slos\[1\].name: duplicate SLO name 'a'"):
        parse_spec(document, "spec.yml")


def test_bad_files_exit_2_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("service: [unclosed\n")
    assert main(["slo", "rules", str(broken)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"perfeng: error: {broken}: not valid YAML at line")
    assert "\n" not in err
    assert main(["slo", "rules", str(tmp_path / "missing.yml")]) == 2
    assert "cannot read the spec" in capsys.readouterr().err


def test_rules_go_to_standard_output_or_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["slo", "rules", str(DOCS / "api.toml")]) == 0
    printed = capsys.readouterr().out
    assert "slo:sli_error:ratio_rate5m" in printed and "alert: ApiAvailability" in printed
    out = tmp_path / "rules.yml"
    assert main(["slo", "rules", str(DOCS / "api.toml"), "-o", str(out), "--period", "7d"]) == 0
    assert "slo:sli_error:ratio_rate7d" in out.read_text()
    assert "36 rules for 2 SLO(s)" in capsys.readouterr().err


def test_workbook_windows_scale_with_the_period() -> None:
    month = windows_for(30 * 86400)
    assert [(w.severity, w.long_s, w.short_s, w.factor) for w in month] == [
        ("page", 3600, 300, 14.4),
        ("page", 21600, 1800, 6.0),
        ("ticket", 86400, 7200, 3.0),
        ("ticket", 259200, 21600, 1.0),
    ]
    # each row spends the same share of the budget, whatever the period
    assert [round(w.budget_share, 3) for w in month] == [0.02, 0.05, 0.1, 0.1]
    week = windows_for(7 * 86400)
    assert week[0].long_s == pytest.approx(3600 * 7 / 30)
    assert week[0].factor == 14.4
    assert distinct_windows(30 * 86400)[0] == 300


def test_burn_rate_arithmetic() -> None:
    assert burn_rate(0.01, 99.9) == pytest.approx(10)
    assert burn_rate(None, 99.9) is None
    assert budget_remaining(0.0005, 99.9) == pytest.approx(0.5)
    # half the budget left, burning at 2x: gone in a quarter of the period
    assert exhaustion_s(0.5, 2.0, 30 * 86400) == pytest.approx(30 * 86400 / 4)
    assert exhaustion_s(0.5, 0.0, 30 * 86400) is None
    ratios: dict[float, float | None] = dict.fromkeys(distinct_windows(30 * 86400), 0.002)
    assert firing(ratios, 99.9, 30 * 86400) == {"page": False, "ticket": True}
    ratios = dict.fromkeys(distinct_windows(30 * 86400), 0.1)
    assert firing(ratios, 99.9, 30 * 86400) == {"page": True, "ticket": True}
    ratios[300.0] = ratios[1800.0] = 0.0  # the short windows recovered: the page stops
    assert firing(ratios, 99.9, 30 * 86400)["page"] is False
    ratios = dict.fromkeys(distinct_windows(30 * 86400))  # no traffic
    assert firing(ratios, 99.9, 30 * 86400) == {"page": False, "ticket": False}


def test_durations_in_prometheus_form() -> None:
    assert prometheus_duration(3600) == "1h"
    assert prometheus_duration(2.5) == "2s500ms"
    assert prometheus_duration(3 * 86400) == "3d"
    assert prometheus_duration(280) == "4m40s"
    assert parse_period_s("1h30m") == 5400
    assert parse_period_s("4w") == 28 * 86400
