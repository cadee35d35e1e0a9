"""M/M/c queues with the Erlang C formula, computed without factorials.

For arrival rate lambda, mean service time S and c servers, the offered load is A = lambda*S
(erlangs) and the utilisation rho = A/c. Erlang B follows the stable recursion
B(0) = 1, B(k) = A*B(k-1) / (k + A*B(k-1)); Erlang C, the probability that an arrival waits,
is C = B / (1 - rho*(1 - B)) (Cooper, "Introduction to Queueing Theory", 2nd ed., ch. 3).
Then, for a stable queue (rho < 1):
  P(wait <= t) = 1 - C * exp(-(c - A) * t / S)
  Wq = C * S / (c - A),  W = Wq + S,  Lq = lambda * Wq,  L = lambda * W  (Little's law).
The recursion is linear in c and never overflows, so thousands of servers are fine.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any


class UnstableQueue(ValueError):
    """The offered load needs at least as many servers as it has erlangs."""


@dataclass(frozen=True)
class QueueMetrics:
    servers: int
    offered_load_erlangs: float
    utilisation: float
    p_wait: float
    service_level: float | None  # P(wait <= target), when a target is given
    mean_wait_s: float
    mean_response_s: float
    mean_queue_length: float
    mean_in_system: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def erlang_b(servers: int, load: float) -> float:
    blocking = 1.0
    for k in range(1, servers + 1):
        blocking = load * blocking / (k + load * blocking)
    return blocking


def erlang_c(servers: int, load: float) -> float:
    """Probability that an arrival has to wait (M/M/c)."""
    if servers < 1:
        raise ValueError("servers must be at least 1")
    if load >= servers:
        raise UnstableQueue(
            f"{load:.4g} erlangs on {servers} servers: the queue grows without bound "
            f"(need more than {load:.4g} servers)"
        )
    blocking = erlang_b(servers, load)
    rho = load / servers
    return blocking / (1 - rho * (1 - blocking))


def mmc(
    arrival_rate: float, service_time: float, servers: int, wait_target: float | None = None
) -> QueueMetrics:
    """Steady-state metrics of an M/M/c queue (rates per second, times in seconds)."""
    if arrival_rate <= 0 or service_time <= 0:
        raise ValueError("arrival rate and service time must be above 0")
    load = arrival_rate * service_time
    p_wait = erlang_c(servers, load)
    mean_wait = p_wait * service_time / (servers - load)
    level = None
    if wait_target is not None:
        level = 1 - p_wait * math.exp(-(servers - load) * wait_target / service_time)
    response = mean_wait + service_time
    return QueueMetrics(
        servers=servers,
        offered_load_erlangs=load,
        utilisation=load / servers,
        p_wait=p_wait,
        service_level=level,
        mean_wait_s=mean_wait,
        mean_response_s=response,
        mean_queue_length=arrival_rate * mean_wait,
        mean_in_system=arrival_rate * response,
    )


def fewest_servers(
    arrival_rate: float,
    service_time: float,
    *,
    service_level: float | None = None,
    wait_target: float | None = None,
    max_utilisation: float | None = None,
    limit: int = 1_000_000,
) -> QueueMetrics:
    """The smallest c meeting the service level (P(wait <= target) >= level) and/or a
    utilisation cap. Starts just above the offered load, where the queue becomes stable."""
    load = arrival_rate * service_time
    servers = max(1, math.floor(load) + 1)
    if max_utilisation is not None:
        servers = max(servers, math.ceil(load / max_utilisation - 1e-12))
    while servers <= limit:
        metrics = mmc(arrival_rate, service_time, servers, wait_target)
        level = metrics.service_level
        if service_level is None or (level is not None and level >= service_level):
            return metrics
        servers += 1
    raise UnstableQueue(f"no number of servers up to {limit:,} meets the service level")
