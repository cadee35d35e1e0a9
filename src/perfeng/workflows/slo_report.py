"""Error-budget reports (``perfeng slo report``), callable from Python: the SLOs of a spec
read from Prometheus, or monitor-style SLOs read from the history database's saved periods."""

from __future__ import annotations

from pathlib import Path

from perfeng.errors import ConfigError, UsageError
from perfeng.gates.budget import BudgetReport, budget_report

STEPS_PER_PERIOD = 720  # a 30-day period in hours: the worst windows are the worst hours


def from_prometheus(
    spec_path: str, url: str, period_s: float | None, now_s: float
) -> list[BudgetReport]:
    from perfeng.model.slo import SpecError, read_spec
    from perfeng.monitor.sources import prometheus_base, prometheus_buckets

    base = prometheus_base(url)
    try:
        spec = read_spec(Path(spec_path), period_s)
    except SpecError as exc:
        raise ConfigError(str(exc)) from None
    reports = []
    for objective in spec.objectives:
        step = max(objective.period_s / STEPS_PER_PERIOD, 1.0)
        buckets = prometheus_buckets(base, objective, now_s, step)
        reports.append(
            budget_report(
                objective.id, objective.objective, objective.period_s, buckets, base, now_s
            )
        )
    return reports


def from_history(
    slo_texts: list[str],
    store_url: str | None,
    tags: dict[str, str],
    period_s: float,
    now_s: float,
) -> list[BudgetReport]:
    from perfeng.monitor.sources import history_buckets
    from perfeng.monitor.state import parse_monitor_slo

    if not slo_texts:
        raise UsageError(
            "with --from history give the SLOs as the monitor does, e.g. "
            "'availability>99.9%' or 'p99<300ms' (a spec's PromQL needs --from prometheus://)"
        )
    reports = []
    for text in slo_texts:
        slo = parse_monitor_slo(text)
        buckets = history_buckets(store_url, slo, tags, now_s - period_s)
        reports.append(budget_report(slo.text, slo.objective, period_s, buckets, "history", now_s))
    return reports
