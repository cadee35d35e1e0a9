"""Quick mode: a scenario from command-line flags (``perfeng load URL ...``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from perfeng.engine.http.request import split_url
from perfeng.engine.workloads import ConstantRate, RampingRate, RampingUsers, Users, parse_stages
from perfeng.engine.workloads.base import WorkloadConfig
from perfeng.errors import UsageError
from perfeng.scenario.model import ClientOptions, RequestSpec, Scenario, ThinkTime
from perfeng.units import parse_duration_s, parse_positive_int, parse_rate

DEFAULT_DURATION = "30s"


@dataclass(frozen=True)
class LoadFlags:
    """The load-shaping and client flags shared by every kind of scenario."""

    rate: str | None = None
    users: str | None = None
    duration: str | None = None
    stages: str | None = None
    timeout: str | None = None
    connect_timeout: str | None = None
    read_timeout: str | None = None
    insecure: bool = False
    follow_redirects: bool = False
    max_in_flight: str | None = None
    think_time: str | None = None
    thresholds: tuple[str, ...] = field(default_factory=tuple)
    pattern: str | None = None  # a load pattern (scenario/patterns.py) and its peak
    peak: str | None = None


def parse_header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip() or any(c in name for c in " \t\r\n"):
        raise UsageError(f"invalid header {text!r}: use 'Name: value'")
    if any(c in value for c in "\r\n"):
        raise UsageError(f"invalid header {text!r}: line breaks are not allowed")
    return name.strip(), value.strip()


def read_body(text: str | None) -> str | None:
    if text is None or not text.startswith("@"):
        return text
    path = Path(text[1:])
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read body file {str(path)!r}: {exc.strerror}") from None


DEFAULT_RATE = 100.0


def workload_from_flags(flags: LoadFlags) -> WorkloadConfig | None:
    """The workload the flags ask for, or None when they ask for none.

    ``--stages`` ramps rates, or user counts when ``--users`` is given (its value is then the
    starting count). Without ``--rate`` or ``--users`` the open model runs at 100 req/s.
    """
    max_in_flight = (
        parse_positive_int(flags.max_in_flight, "--max-in-flight") if flags.max_in_flight else None
    )
    if flags.pattern is not None or flags.peak is not None:
        from perfeng.scenario.patterns import pattern_from_flags

        return pattern_from_flags(flags, max_in_flight)
    if flags.stages:
        if flags.duration:
            raise UsageError("--stages sets the duration; drop --duration")
        stages = parse_stages(flags.stages, "--stages")
        if flags.users is not None:
            start = int(flags.users) if flags.users.isdigit() else 0
            return RampingUsers(stages=stages, start_users=start)
        start_rate = parse_rate(flags.rate) if flags.rate else 0.0
        return RampingRate(stages=stages, start_rate=start_rate, max_in_flight=max_in_flight)
    if flags.rate is None and flags.users is None and flags.duration is None:
        return None
    duration = parse_duration_s(flags.duration or DEFAULT_DURATION)
    if flags.users is not None:
        return Users(users=parse_positive_int(flags.users, "--users"), duration_s=duration)
    rate = parse_rate(flags.rate) if flags.rate is not None else DEFAULT_RATE
    return ConstantRate(rate=rate, duration_s=duration, max_in_flight=max_in_flight)


def client_options(flags: LoadFlags, base: ClientOptions | None = None) -> ClientOptions:
    base = base or ClientOptions()
    total = parse_duration_s(flags.timeout) if flags.timeout else base.total_timeout_s
    return ClientOptions(
        connect_timeout_s=(
            parse_duration_s(flags.connect_timeout)
            if flags.connect_timeout
            else min(base.connect_timeout_s, total)
        ),
        read_timeout_s=(
            parse_duration_s(flags.read_timeout)
            if flags.read_timeout
            else min(base.read_timeout_s, total)
        ),
        total_timeout_s=total,
        insecure=flags.insecure or base.insecure,
        follow_redirects=flags.follow_redirects or base.follow_redirects,
    )


def parse_think_time(text: str | None) -> ThinkTime:
    """``1s`` constant, ``0.5s-2s`` uniform, ``pace:3s`` pacing."""
    if not text:
        return ThinkTime()
    if text.startswith("pace:"):
        return ThinkTime("pacing", parse_duration_s(text[5:]))
    low, sep, high = text.partition("-")
    if sep:
        a, b = parse_duration_s(low), parse_duration_s(high)
        if b < a:
            raise UsageError(f"invalid think time {text!r}: the upper bound is below the lower")
        return ThinkTime("uniform", a, b)
    return ThinkTime("constant", parse_duration_s(text))


def quick_scenario(
    url: str, method: str | None, headers: list[str], body: str | None, flags: LoadFlags
) -> Scenario:
    origin, target = split_url(url)
    workload = workload_from_flags(flags) or ConstantRate(rate=DEFAULT_RATE, duration_s=30.0)
    request = RequestSpec(
        name=f"{(method or 'GET').upper()} {target.split('?')[0]}",
        method=(method or "GET").upper(),
        url=url,
        headers=tuple(parse_header(h) for h in headers),
        body=read_body(body),
    )
    return Scenario(
        base_url=str(origin),
        requests=(request,),
        workloads=(workload,),
        thresholds=flags.thresholds,
        think_time=parse_think_time(flags.think_time),
        client=client_options(flags),
        source="command line",
    )
