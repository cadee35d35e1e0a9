"""``perfeng capacity``: sizing with queueing theory (``queue``); more to come."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from perfeng.errors import ExitCode, UsageError

KEYS = (
    "servers",
    "offered_load_erlangs",
    "utilisation",
    "p_wait",
    "service_level",
    "mean_wait_s",
    "mean_response_s",
    "mean_queue_length",
    "mean_in_system",
)


def _fraction(text: str | None, what: str) -> float | None:
    if text is None:
        return None
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise UsageError(f"invalid {what} {text!r}: use e.g. 0.8 or 80%") from None
    if not 0 < value < 1:
        raise UsageError(f"invalid {what} {text!r}: must be between 0 and 1 (0% and 100%)")
    return value


def _explain(m: dict[str, float | int | None], wait_target: float | None) -> str:
    lines = [
        f"servers: {m['servers']}   offered load: {m['offered_load_erlangs']:.4g} erlangs   "
        f"utilisation: {m['utilisation']:.1%}",
        f"probability of waiting: {m['p_wait']:.2%}   mean wait: {m['mean_wait_s']:.4g} s   "
        f"mean response: {m['mean_response_s']:.4g} s",
        f"mean queue length: {m['mean_queue_length']:.4g}   mean in system: "
        f"{m['mean_in_system']:.4g}",
    ]
    if wait_target is not None and m["service_level"] is not None:
        lines.append(f"service level: {m['service_level']:.1%} wait at most {wait_target:g} s")
    lines.append("model: M/M/c (Poisson arrivals, exponential service, one queue), Erlang C")
    return "\n".join(lines)


def queue(args: argparse.Namespace) -> int:
    from perfeng.analysis.queueing import UnstableQueue, fewest_servers, mmc
    from perfeng.units import parse_duration_s, parse_positive_int, parse_rate

    rate = parse_rate(args.arrival_rate)
    service = parse_duration_s(args.service_time)
    if rate <= 0 or service <= 0:
        raise UsageError("--arrival-rate and --service-time must be above 0")
    target = parse_duration_s(args.wait_target) if args.wait_target else None
    level = _fraction(args.service_level, "--service-level")
    cap = _fraction(args.max_utilisation, "--max-utilisation")
    if level is not None and target is None:
        raise UsageError("--service-level needs --wait-target (the wait it is measured at)")
    try:
        if args.servers:
            metrics = mmc(rate, service, parse_positive_int(args.servers, "--servers"), target)
        else:
            if level is None and cap is None:
                level, target = 0.8, target if target is not None else 20.0
            metrics = fewest_servers(
                rate, service, service_level=level, wait_target=target, max_utilisation=cap
            )
    except UnstableQueue as exc:
        raise UsageError(str(exc)) from None
    result = metrics.to_dict()
    if args.json:
        print(json.dumps({k: result[k] for k in KEYS}, indent=1))
    else:
        print(_explain(result, target))
    return int(ExitCode.OK)


def read_points(path_text: str) -> list[tuple[float, float]]:
    """A CSV file with the header ``concurrency,throughput`` and one point per line."""
    import csv
    from pathlib import Path

    from perfeng.errors import ConfigError

    path = Path(path_text)
    if path.suffix == ".json":
        return _points_of_capacity(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    rows = [r for r in csv.reader(lines) if r and any(c.strip() for c in r)]
    header = [c.strip().lower() for c in rows[0]] if rows else []
    if header not in (["concurrency", "throughput"], ["instances", "throughput"]):
        raise ConfigError(f"{path}: the first line must be the header 'concurrency,throughput'")
    points = []
    for number, row in enumerate(rows[1:], 2):
        try:
            n, x = (float(c) for c in row)
        except ValueError:
            raise ConfigError(
                f"{path}:{number}: expected two numbers, got {','.join(row)!r}"
            ) from None
        points.append((n, x))
    return points


def _points_of_capacity(path: Any) -> list[tuple[float, float]]:
    """(mean concurrency by Little's law, achieved throughput) of each step of a capacity
    result: the throughput-against-concurrency curve the USL describes."""
    from perfeng.errors import ConfigError

    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: not a readable capacity result: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != "perfeng-capacity":
        raise ConfigError(f"{path}: not a perfeng capacity result")
    steps = document.get("capacity", {}).get("steps", [])
    return sorted(
        (s["concurrency"], s["achieved_rps"])
        for s in steps
        if s.get("concurrency") and s.get("achieved_rps")
    )


def _fmt(value: float | None) -> str:
    return "none" if value is None else f"{value:.6g}"


def _fit_json(fit: Any, amdahl: Any) -> dict[str, Any]:
    amdahl_part = {"sigma": amdahl.sigma, "lambda": amdahl.lam, "r_squared": amdahl.r_squared}
    return {**fit.to_dict(), "amdahl": amdahl_part}


def _fit_text(fit: Any, amdahl: Any, points: list[tuple[float, float]]) -> str:
    top = max(n for n, _ in points)
    lines = [
        f"Universal Scalability Law: sigma {_fmt(fit.sigma)}, kappa {_fmt(fit.kappa)}, "
        f"lambda {_fmt(fit.lam)} (R^2 {fit.r_squared:.4f})",
        f"- contention (sigma): {fit.sigma:.2%} of the work is serialised; it caps the speed-up",
        f"- coherency (kappa): each pair of concurrent workers costs {_fmt(fit.kappa)} of a "
        "unit of work to keep consistent; it makes throughput fall past the peak",
        f"- one worker does {_fmt(fit.lam)} per unit of time",
    ]
    if fit.n_star is not None:
        where = "beyond" if fit.n_star > top else "inside"
        lines.append(
            f"- peak: {_fmt(fit.x_max)} at concurrency {fit.n_star:.1f} ({where} the "
            f"measured range, which ends at {top:g})"
        )
    elif fit.x_max is not None:
        lines.append(f"- no coherency cost: throughput approaches {_fmt(fit.x_max)}")
    lines.append(
        f"Amdahl (kappa = 0): sigma {_fmt(amdahl.sigma)}, lambda {_fmt(amdahl.lam)} "
        f"(R^2 {amdahl.r_squared:.4f})"
    )
    lines += [f"warning: {w}" for w in fit.warnings]
    return "\n".join(lines)


def fit(args: argparse.Namespace) -> int:
    from perfeng.analysis.scalability import FitError, fit_amdahl, fit_gunther, fit_usl

    points = read_points(args.data)
    try:
        model = fit_gunther(points) if args.method == "gunther" else fit_usl(points)
        amdahl = fit_amdahl(points)
    except FitError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print(json.dumps(_fit_json(model, amdahl), indent=1))
    else:
        print(_fit_text(model, amdahl, points))
    if args.chart:
        _fit_chart(args.chart, points, model, amdahl)
    return int(ExitCode.OK)


def _fit_chart(path: str, points: list[tuple[float, float]], model: Any, amdahl: Any) -> None:
    from pathlib import Path

    from perfeng.analysis.scalability import usl
    from perfeng.report.capacity_html import render_fit

    page = render_fit(
        points,
        lambda n: usl(n, model.sigma, model.kappa, model.lam),
        lambda n: usl(n, amdahl.sigma, 0.0, amdahl.lam),
        model.lam,
        model.n_star,
        _fit_text(model, amdahl, points),
    )
    try:
        Path(path).write_text(page, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
    print(f"chart written to {path}")


def _step_line(step: Any, entry: dict[str, Any]) -> str:
    verdict = "pass" if step.passed else "FAIL"
    p99 = "–" if step.p99_ms is None else f"{step.p99_ms:.2f}"
    n = "–" if step.concurrency is None else f"{step.concurrency:.1f}"
    cpu = entry.get("target_cpu_pct")
    cpu_text = "" if cpu is None else f", target CPU {cpu:.0f}%"
    return (
        f"  {step.target_rate:>10,.1f}/s offered -> {step.achieved_rps:>10,.1f}/s, "
        f"p99 {p99} ms, errors {step.error_rate:.2%}, in system {n}{cpu_text}: {verdict}"
    )


def base_scenario(args: argparse.Namespace) -> Any:
    from perfeng.cli.load import build_scenario

    return build_scenario(
        argparse.Namespace(
            target=args.target,
            method=None,
            header=[],
            body=None,
            rate=None,
            users=None,
            duration=None,
            stages=None,
            timeout=args.timeout,
            connect_timeout=None,
            read_timeout=None,
            insecure=False,
            follow_redirects=False,
            max_in_flight=None,
            think_time=None,
            threshold=[],
            base_url=None,
        )
    )


def find(args: argparse.Namespace) -> int:
    import time

    from perfeng.cli.load import say_watching, watching_of
    from perfeng.gates import parse_thresholds
    from perfeng.units import parse_duration_s, parse_rate
    from perfeng.workflows.capacity import WARMUP, FindSettings, find_capacity
    from perfeng.workflows.load import target
    from perfeng.workflows.metadata import collect
    from perfeng.workflows.output import check_writable, write_json

    if not parse_thresholds(args.slo):
        raise UsageError("give at least one --slo, e.g. --slo 'p99<200ms'")
    resolution = _fraction(args.resolution, "--resolution")
    assert resolution is not None
    settings = FindSettings(
        slos=list(args.slo),
        start=parse_rate(args.start),
        maximum=parse_rate(args.max),
        resolution=resolution,
        step_s=parse_duration_s(args.step_duration),
        on_step=lambda step, entry: print(_step_line(step, entry), flush=True),
        argv=sys.argv[1:],
        target=args.target,
    )
    if not 0 < settings.start <= settings.maximum:
        raise UsageError("the start rate must be above 0 and at most the maximum")
    if args.out:
        check_writable(args.out)
    scenario, watching = base_scenario(args), watching_of(args)
    started = time.time()
    print(
        f"finding the highest rate that meets {', '.join(args.slo)} "
        f"({args.step_duration} steps, {WARMUP:.0%} warm-up discarded)",
        flush=True,
    )
    if watching is None:
        found = find_capacity(scenario, settings)
    else:
        with target(watching, scenario.base_url) as watched:
            say_watching(watched)
            found = find_capacity(scenario, settings, watched)
    section = found.section
    result = {
        "format": "perfeng-capacity",
        "format_version": 1,
        "metadata": collect(started, time.time(), sys.argv[1:]),
        "capacity": section,
    }
    print(
        f"max sustainable rate: {_fmt(section['max_sustainable_rps'])}/s; first failing: "
        f"{_fmt(section['first_failing_rps'])}/s; knee: {_fmt(section['knee_rps'])}/s"
    )
    if args.out:
        write_json(args.out, result)
        print(f"result written to {args.out}")
    if found.stop_reason in ("SIGINT", "SIGTERM"):
        return int(ExitCode.INTERRUPTED if found.stop_reason == "SIGINT" else ExitCode.TERMINATED)
    ok = section["max_sustainable_rps"] is not None
    return int(ExitCode.OK if ok else ExitCode.THRESHOLD_FAILED)


def _instances_by_usl(points: list[tuple[float, float]], needed: float) -> tuple[int, str]:
    from perfeng.analysis.scalability import fit_usl, usl

    model = fit_usl(points)
    peak = model.x_max
    if peak is not None and peak < needed:
        raise UsageError(
            f"the USL fit peaks at {peak:,.0f}/s (at {_fmt(model.n_star)} "
            f"instances): no number of instances reaches {needed:,.0f}/s"
        )
    limit = int(model.n_star) + 1 if model.n_star is not None else 100_000
    for count in range(1, limit + 1):
        if usl(count, model.sigma, model.kappa, model.lam) >= needed:
            return count, (
                f"USL fit of the scale-out points: sigma {_fmt(model.sigma)}, "
                f"kappa {_fmt(model.kappa)}, lambda {_fmt(model.lam)}/s per instance"
            )
    raise UsageError(f"no number of instances up to {limit} reaches {needed:,.0f}/s")


def plan(args: argparse.Namespace) -> int:
    import math
    from pathlib import Path

    from perfeng.errors import ConfigError
    from perfeng.units import parse_rate

    try:
        found = json.loads(Path(args.capacity).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{args.capacity}: not a readable capacity result: {exc}") from None
    if not isinstance(found, dict) or found.get("format") != "perfeng-capacity":
        raise ConfigError(
            f"{args.capacity}: not a perfeng capacity result "
            "(make one with perfeng capacity find --out)"
        )
    found = found.get("capacity", {})
    per_instance = found.get("max_sustainable_rps")
    if not per_instance:
        raise ConfigError(f"{args.capacity}: no rate met the SLOs, so there is nothing to scale")
    target = parse_rate(args.target_rate)
    headroom = _fraction(args.headroom, "--headroom") if args.headroom else 0.0
    assert headroom is not None
    needed = target * (1 + headroom)
    assumptions = [
        f"one instance sustains {per_instance:,.1f}/s under {', '.join(found['slos'])} "
        f"(measured by capacity find on {found['target']})",
        f"target {target:,.1f}/s plus {headroom:.0%} headroom = {needed:,.1f}/s",
    ]
    if args.slo and set(args.slo) != set(found["slos"]):
        assumptions.append(
            f"warning: the SLOs asked for ({', '.join(args.slo)}) are not the "
            "ones measured; measure with them for a trustworthy plan"
        )
    if args.scale_out:
        count, how = _instances_by_usl(read_points(args.scale_out), needed)
        assumptions.append(how)
    else:
        count = math.ceil(needed / per_instance - 1e-9)
        assumptions.append(
            "instances scale linearly and share no bottleneck (give "
            "--scale-out with measured instances,throughput points to fit the USL)"
        )
    if args.json:
        print(
            json.dumps(
                {
                    "instances": count,
                    "per_instance_rps": per_instance,
                    "needed_rps": needed,
                    "assumptions": assumptions,
                },
                indent=1,
            )
        )
    else:
        print(f"instances needed: {count}")
        print("\n".join(f"- {a}" for a in assumptions))
    return int(ExitCode.OK)


def run(args: argparse.Namespace) -> int:
    if args.capacity_command == "queue":
        return queue(args)
    if args.capacity_command == "fit":
        return fit(args)
    if args.capacity_command == "find":
        return find(args)
    if args.capacity_command == "plan":
        return plan(args)
    raise UsageError(
        f"'perfeng capacity {args.capacity_command}' is not built yet in this "
        "version; 'perfeng capacity queue' is"
    )
