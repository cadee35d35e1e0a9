"""Findings: what limits the target and what to fix first, from one result document.

Pure: the result's time series, resource samples (USE) and profile in, ranked findings out.
Each rule needs evidence in the data and says which numbers it rests on; when none holds,
the finding is "no bottleneck below the highest load tried". The rules:

- generator: the generator's own health warnings (engine/health.py) fired;
- cpu_saturation: saturated seconds (analysis/seconds.py) in which a watched process used
  at least 85 % of a core (a Python process is bound to one core by its GIL), the tree 85 %
  of every core, or the machine 90 %; named by the profile's CPU hotspots;
- serialisation / pool_limit: a throughput limit with the CPU not bound. Little's law,
  N = X R (Little 1961), with X the limit and R the unloaded mean latency, gives the requests
  in service at once: about one means serialised, more means a pool of about N;
- throughput_limit: the same limit when the target was not watched (cause unknown);
- errors_under_load: the error rate of the more loaded half of the run at least three times
  the less loaded half's; the onset is the offered rate above which errors start, and the
  requests in flight there are N = lambda S (Little's law again);
- memory_growth / fd_growth: least-squares slope of RSS (or open files) against requests
  served, over unsaturated seconds, kept only when it explains the series (R^2 >= 0.8) and
  goes on in the run's second half;
- tail_latency: p99/p50 of 10 or more, a second mode in the latency histogram, or latency
  spikes at regular intervals, in unsaturated seconds;
- latency_drift / error_bursts / memory_trend: a soak run's, or any run's with a constant
  load held 30 minutes or more (analysis/soak.py).

Ranking: severity first (critical, warning, info), then impact: (share of requests the
cause touches) x (how far it pushes them past the SLO, or past the unloaded baseline when no
SLO was given), at least 1 in the second factor. Memory and fd growth touch no request yet:
their impact is the share of the resource the run itself used up (its length over the time
to exhaustion, at most 1). The generator finding always ranks first: when it fires, every
other finding is marked less certain.
"""

from __future__ import annotations

from typing import Any

from msgspec.structs import replace

from perfeng.analysis.evidence import (
    Context,
    Run,
    contended,
)
from perfeng.analysis.faults import fault_findings
from perfeng.analysis.phases import setup_rule
from perfeng.analysis.rules_load import (
    errors_rule,
    growth_rule,
    no_bottleneck,
    nothing_measured,
    tail_rule,
)
from perfeng.analysis.rules_target import (
    contention_rule,
    cpu_rule,
    generator_rule,
    limit_rule,
    stall_rule,
    watch_gaps,
)
from perfeng.analysis.seconds import (
    Baseline,
    baseline_of,
    join,
    throughput_limit,
)
from perfeng.analysis.soak import soak_rules
from perfeng.model.findings import KINDS, LIMITS, Finding
from perfeng.model.watch import read_profile, read_resources

__all__ = ["Context", "contended", "context_of", "diagnose", "rank"]


def context_of(document: dict[str, Any], baseline: Baseline | None = None) -> Context:
    """The SLO from the run's own latency and error-rate thresholds."""
    latency = [v for v in document["summary"].get("thresholds", []) if v.get("unit") == "ms"]
    errors = [
        v
        for v in document["summary"].get("thresholds", [])
        if v.get("metric") == "error_rate" and v.get("operator") in ("<", "<=")
    ]
    tightest = min(latency, key=lambda v: float(v["limit"]), default=None)
    return Context(
        latency_limit_ms=float(tightest["limit"]) if tightest else None,
        latency_slo=str(tightest["expression"]) if tightest else None,
        error_limit=min((float(v["limit"]) for v in errors), default=None),
        baseline=baseline,
    )


def diagnose(document: dict[str, Any], context: Context | None = None) -> list[Finding]:
    """The findings of a run, highest impact first (the generator's always first)."""
    where = "result"
    resources = read_resources(document["resources"], where) if document.get("resources") else None
    profile = read_profile(document["profile"], where) if document.get("profile") else None
    seconds = join(document, resources)
    context = context or context_of(document)
    base = context.baseline or baseline_of(seconds)
    if base is None:
        return [nothing_measured(document)]
    run = Run(
        document,
        seconds,
        base,
        resources,
        profile,
        context,
        open_model=document.get("model") != "closed",
    )
    return rank([f for f in _rules(run) if f is not None])


def _rules(run: Run) -> list[Finding | None]:
    limit = throughput_limit(run.seconds, run.base, open_model=run.open_model)
    found: list[Finding | None] = [generator_rule(run), *watch_gaps(run)]
    cpu = cpu_rule(run, limit)
    found.append(cpu)
    if cpu is None or cpu.severity != "critical":
        found.append(limit_rule(run, limit))
    found += [
        contention_rule(run) if run.watched else None,
        stall_rule(run),
        errors_rule(run),
        growth_rule(run, "rss"),
        growth_rule(run, "fds"),
        tail_rule(run),
        setup_rule(run.document["summary"]),
        *fault_findings(run.document["summary"]),
    ]
    found += soak_rules(run, [f.id for f in found if f is not None])
    if not any(f is not None and f.id in LIMITS for f in found):
        found.append(no_bottleneck(run))
    return found


def rank(findings: list[Finding]) -> list[Finding]:
    generator = any(f.id == "generator" for f in findings)
    if generator:
        findings = [f if f.id == "generator" else replace(f, certainty="low") for f in findings]
    order = {kind: i for i, kind in enumerate(KINDS)}
    grade = {"critical": 0, "warning": 1, "info": 2}
    return sorted(
        findings,
        key=lambda f: (f.id != "generator", grade[f.severity], -f.impact, order.get(f.id, 99)),
    )
