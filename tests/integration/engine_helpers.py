"""Run a scenario through the real engine and clock, and summarise it, for assertions."""

from __future__ import annotations

from typing import Any

import uvloop

from perfeng.clock import MonotonicClock
from perfeng.engine.runner import Engine, RunOptions
from perfeng.engine.workloads import ConstantRate, Users
from perfeng.model.result import summarize, totals_of
from perfeng.scenario.model import Check, ClientOptions, RequestSpec, Scenario


def scenario(
    url: str,
    *,
    rate: float | None = None,
    users: int | None = None,
    duration: float = 1.0,
    method: str = "GET",
    checks: tuple[Check, ...] = (),
    timeout: float = 5.0,
    insecure: bool = False,
    max_in_flight: int | None = None,
    body: str | None = None,
    follow_redirects: bool = False,
) -> Scenario:
    workload: Any = (
        Users(users=users, duration_s=duration)
        if users
        else ConstantRate(rate=rate or 50, duration_s=duration, max_in_flight=max_in_flight)
    )
    return Scenario(
        base_url=url.split("/", 3)[0] + "//" + url.split("/", 3)[2],
        requests=(RequestSpec(name="r", method=method, url=url, checks=checks, body=body),),
        workloads=(workload,),
        client=ClientOptions(
            connect_timeout_s=timeout,
            read_timeout_s=timeout,
            total_timeout_s=timeout,
            insecure=insecure,
            follow_redirects=follow_redirects,
        ),
    )


def run(scn: Scenario, *, grace_s: float = 2.0) -> tuple[dict[str, Any], dict[str, Any]]:
    """(summary, generator report) of one run."""
    engine = Engine(scn, MonotonicClock(), RunOptions(grace_s=grace_s, seed=1))
    loop = uvloop.new_event_loop()
    try:
        measurements = loop.run_until_complete(engine.run())
    finally:
        loop.close()
    return summarize(totals_of(measurements)), measurements.generator
