"""Prometheus recording and alerting rules for SLOs (what Sloth and Pyrra generate).

Per objective, three rule groups:

1. the error ratio over every window the alerts read (``slo:sli_error:ratio_rate<window>``),
   and over the SLO period. The period's ratio is traffic-weighted: the sum over the period of
   the 5-minute error and total rates, divided (``slo:sli_errors:rate5m``,
   ``slo:sli_total:rate5m``), not the mean of 5-minute ratios that Sloth records, which
   overweights quiet hours (slok/sloth#241). A raw SLI has no counts, so its mean is used.
   Every ratio divides by ``total > 0``: no traffic gives no sample rather than NaN
   (slok/sloth#133); bad events default to 0 where there is traffic, since an error series
   often does not exist until the first error.
2. metadata: objective, budget, period, burn rate now and over the period, budget left.
3. two alerts, page and ticket, each the OR of its rows of ``gates.slo.windows_for``
   (``long > factor x budget AND short > factor x budget``), labelled ``slo_severity``.
"""

from __future__ import annotations

import re
from typing import Any

from perfeng.gates.slo import distinct_windows, prometheus_duration, windows_for
from perfeng.model.slo import WINDOW, Objective, Spec

_ERROR_RATIO = "slo:sli_error:ratio_rate"


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _camel(text: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", text))


def alert_name(objective: Objective) -> str:
    return objective.alert_name or f"{_camel(objective.service)}{_camel(objective.name)}BudgetBurn"


def series_labels(objective: Objective) -> dict[str, str]:
    return {
        **objective.labels,
        "slo_id": objective.id,
        "slo_service": objective.service,
        "slo_name": objective.name,
    }


def _select(objective: Objective) -> str:
    return f'{{slo_id="{_quote(objective.id)}"}}'


def _fill(query: str, window_s: float) -> str:
    return query.replace(WINDOW, prometheus_duration(window_s)).strip()


def error_ratio_expr(objective: Objective, window_s: float) -> str:
    """The SLI's error ratio over one window, in PromQL."""
    if objective.error_ratio_query is not None:
        return f"({_fill(objective.error_ratio_query, window_s)})"
    assert objective.error_query is not None and objective.total_query is not None
    errors = _errors(objective, window_s)
    total = _fill(objective.total_query, window_s)
    return f"{errors}\n/\n(({total}) > 0)"


def _errors(objective: Objective, window_s: float) -> str:
    """The bad events, or 0 where there are events but no bad ones: an error series that
    does not exist yet (no 5xx so far) must read as 0, not as no data."""
    assert objective.error_query is not None and objective.total_query is not None
    errors = _fill(objective.error_query, window_s)
    total = _fill(objective.total_query, window_s)
    return f"(({errors}) or (0 * ({total})))"


def _recordings(objective: Objective) -> list[dict[str, Any]]:
    labels = series_labels(objective)
    rules: list[dict[str, Any]] = []
    for window in distinct_windows(objective.period_s):
        name = prometheus_duration(window)
        rules.append(
            {
                "record": f"{_ERROR_RATIO}{name}",
                "expr": error_ratio_expr(objective, window),
                "labels": {**labels, "slo_window": name},
            }
        )
    rules.extend(_period_recordings(objective, labels))
    return rules


def _period_recordings(objective: Objective, labels: dict[str, str]) -> list[dict[str, Any]]:
    period = prometheus_duration(objective.period_s)
    select = _select(objective)
    if objective.error_ratio_query is not None:
        first = prometheus_duration(distinct_windows(objective.period_s)[0])
        expr = f"avg_over_time({_ERROR_RATIO}{first}{select}[{period}])"
        return [{"record": f"{_ERROR_RATIO}{period}", "expr": expr, "labels": {**labels}}]
    assert objective.error_query is not None and objective.total_query is not None
    five = 300.0 if objective.period_s >= 86400 else distinct_windows(objective.period_s)[0]
    step = prometheus_duration(five)
    errors, total = f"slo:sli_errors:rate{step}", f"slo:sli_total:rate{step}"
    ratio = (
        f"sum_over_time({errors}{select}[{period}])\n/\n"
        f"(sum_over_time({total}{select}[{period}]) > 0)"
    )
    return [
        {"record": errors, "expr": _errors(objective, five), "labels": {**labels}},
        {"record": total, "expr": _fill(objective.total_query, five), "labels": {**labels}},
        {
            "record": f"{_ERROR_RATIO}{period}",
            "expr": ratio,
            "labels": {**labels, "slo_window": period},
        },
    ]


def _metadata(objective: Objective) -> list[dict[str, Any]]:
    labels = series_labels(objective)
    select = _select(objective)
    period = prometheus_duration(objective.period_s)
    first = prometheus_duration(distinct_windows(objective.period_s)[0])
    budget = f"{objective.budget:.10g}"
    rules = [
        ("slo:objective:ratio", f"vector({objective.objective / 100:.10g})"),
        ("slo:error_budget:ratio", f"vector({budget})"),
        ("slo:time_period:days", f"vector({objective.period_s / 86400:.10g})"),
        (
            "slo:current_burn_rate:ratio",
            f"max({_ERROR_RATIO}{first}{select}) without (slo_window) / {budget}",
        ),
        (
            "slo:period_burn_rate:ratio",
            f"max({_ERROR_RATIO}{period}{select}) without (slo_window) / {budget}",
        ),
        ("slo:period_error_budget_remaining:ratio", f"1 - slo:period_burn_rate:ratio{select}"),
    ]
    return [{"record": name, "expr": expr, "labels": dict(labels)} for name, expr in rules]


def _condition(objective: Objective, long_s: float, short_s: float, factor: float) -> str:
    select = _select(objective)
    bound = f"({factor:g} * {objective.budget:.10g})"
    parts = [
        f"max({_ERROR_RATIO}{prometheus_duration(w)}{select} > {bound}) without (slo_window)"
        for w in (long_s, short_s)
    ]
    return f"(\n  {parts[0]}\n  and\n  {parts[1]}\n)"


def _alerts(objective: Objective) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    for severity in ("page", "ticket"):
        alert = objective.page if severity == "page" else objective.ticket
        if alert is None:
            continue
        rows = [w for w in windows_for(objective.period_s) if w.severity == severity]
        expr = "\nor\n".join(_condition(objective, w.long_s, w.short_s, w.factor) for w in rows)
        annotations = {
            "title": f"(slo_severity={severity}) {{{{$labels.slo_service}}}} "
            f"{{{{$labels.slo_name}}}} SLO error budget burn rate is too high.",
            "summary": f"{objective.service} {objective.name}: the error budget of a "
            f"{objective.objective:g}% SLO over {prometheus_duration(objective.period_s)} "
            "is burning faster than planned.",
            **objective.alert_annotations,
            **alert.annotations,
        }
        rules.append(
            {
                "alert": alert_name(objective),
                "expr": expr,
                "labels": {**objective.alert_labels, **alert.labels, "slo_severity": severity},
                "annotations": annotations,
            }
        )
    return rules


def rule_groups(spec: Spec) -> dict[str, Any]:
    """The rule file's content, ready to be written as YAML."""
    groups: list[dict[str, Any]] = []
    for objective in spec.objectives:
        groups.append(
            {"name": f"slo-sli-recordings-{objective.id}", "rules": _recordings(objective)}
        )
        groups.append(
            {"name": f"slo-meta-recordings-{objective.id}", "rules": _metadata(objective)}
        )
        alerts = _alerts(objective)
        if alerts:
            groups.append({"name": f"slo-alerts-{objective.id}", "rules": alerts})
    return {"groups": groups}


class _Literal(str):
    """A string written as a YAML block (``|-``): multi-line PromQL stays readable."""


def render(spec: Spec) -> str:
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def literal(dumper: yaml.SafeDumper, value: _Literal) -> yaml.Node:
        return dumper.represent_scalar("tag:yaml.org,2002:str", str(value), style="|")

    Dumper.add_representer(_Literal, literal)
    content = rule_groups(spec)
    for group in content["groups"]:
        for rule in group["rules"]:
            if "\n" in rule["expr"]:
                rule["expr"] = _Literal(rule["expr"])
    header = (
        "# Generated by perfeng slo rules (SRE Workbook multi-window multi-burn-rate alerts).\n"
        "# Do not edit: change the spec and generate again.\n"
    )
    return header + yaml.dump(content, Dumper=Dumper, sort_keys=False, width=100)
