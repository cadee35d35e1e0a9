"""``perfeng monitor TARGET --every 10s --slo ...``: probe, export, alert, until stopped."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from perfeng.errors import ExitCode, UsageError
from perfeng.units import parse_duration_s, parse_rate


def _listen(text: str | None) -> tuple[str, int] | None:
    if text is None or text.lower() == "off":
        return None if text else ("127.0.0.1", 9464)
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise UsageError(f"invalid --listen {text!r}: give HOST:PORT, e.g. 127.0.0.1:9464")
    return host.strip("[]") or "127.0.0.1", int(port)


def _rate(args: argparse.Namespace) -> float:
    if args.every and args.rate:
        raise UsageError("give --every or --rate, not both")
    if args.rate:
        rate = parse_rate(args.rate)
    else:
        every = parse_duration_s(args.every or "10s")
        if every <= 0:
            raise UsageError(f"invalid --every {args.every!r}: must be above zero")
        rate = 1.0 / every
    if not 0 < rate <= 10_000:
        raise UsageError("the probe rate must be above 0 and at most 10000/s")
    return rate


def _scenario(args: argparse.Namespace) -> Any:
    from perfeng.scenario.quick import LoadFlags

    flags = LoadFlags(timeout=args.timeout, insecure=args.insecure)
    target: str = args.target
    if target.endswith(".toml"):
        from perfeng.scenario.toml_loader import load_toml_scenario

        return load_toml_scenario(target)
    if target.endswith(".py"):
        from perfeng.scenario.python_loader import load_python_scenario

        return load_python_scenario(target, flags, args.base_url)
    if "://" not in target:
        raise UsageError(f"invalid target {target!r}: give a URL, a .toml or a .py scenario")
    from perfeng.scenario.quick import quick_scenario

    return quick_scenario(target, args.method, args.header, None, flags)


def config_from(args: argparse.Namespace) -> Any:
    from perfeng.cli.history import check_save_flags, parse_tags
    from perfeng.model.slo import SpecError, parse_period_s
    from perfeng.monitor.state import parse_monitor_slo
    from perfeng.workflows.monitor import MonitorConfig

    if not args.slo:
        raise UsageError(
            "give at least one --slo, e.g. --slo 'p99<300ms' --slo 'availability>99.9%'"
        )
    slos = tuple(parse_monitor_slo(text) for text in args.slo)
    names = [s.name for s in slos]
    if len(set(names)) != len(names):
        raise UsageError("two --slo options describe the same SLO")
    try:
        period = parse_period_s(args.period, "--period")
    except SpecError as exc:
        raise UsageError(str(exc)) from None
    if period < 60:
        raise UsageError(f"invalid --period {args.period!r}: the SLO period must be at least 1m")
    check_save_flags(args)
    return MonitorConfig(
        scenario=_scenario(args),
        rate=_rate(args),
        slos=slos,
        period_s=period,
        listen=_listen(args.listen),
        webhook=args.webhook,
        save_every_s=parse_duration_s(args.save_every) if args.save else None,
        store_url=args.store,
        tags=parse_tags(args.tag),
        duration_s=parse_duration_s(args.duration) if args.duration else None,
        argv=tuple(sys.argv[1:]),
    )


def run(args: argparse.Namespace) -> int:
    from perfeng.workflows.monitor import run_monitor

    config = config_from(args)
    if config.webhook and not config.webhook.startswith(("http://", "https://")):
        raise UsageError(f"invalid --webhook {config.webhook!r}: give an http(s) URL")

    def line(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    rate = f"{config.rate:g}/s" if config.rate >= 1 else f"one every {1 / config.rate:g}s"
    slos = ", ".join(s.text for s in config.slos)
    line(f"perfeng monitor: probing {config.scenario.base_url} ({rate}); SLOs: {slos}")
    report = run_monitor(config, line)
    line(
        f"perfeng monitor: stopped ({report.stop_reason or 'duration reached'}): "
        f"{report.probes} probes, {report.failures} failed, {report.dropped} dropped, "
        f"{len(report.alerts)} alert transitions, {len(report.saved)} saved"
    )
    return int(ExitCode.OK)
