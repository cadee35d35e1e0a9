"""``perfeng capacity``: sizing with queueing theory (``queue``); more to come."""

from __future__ import annotations

import argparse
import json

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


def run(args: argparse.Namespace) -> int:
    if args.capacity_command == "queue":
        return queue(args)
    raise UsageError(
        f"'perfeng capacity {args.capacity_command}' is not built yet in this "
        "version; 'perfeng capacity queue' is"
    )
