"""Where a request's time went: its phases (DNS, connect, TLS, TTFB, receive) per request name,
and the finding when opening connections costs a large share of it.

A phase's contribution to the average answered request is its mean times the number of
requests that went through it, over the answered requests (those with a ``ttfb``): a handshake
of 2 ms on one request in ten adds 0.2 ms to the average request. The contributions add up to
the mean service time of the answered requests (to rounding; redirects excepted).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from perfeng.model import histogram as hdr
from perfeng.model.findings import Finding
from perfeng.units import human_ms

PHASES = ("dns", "connect", "tls", "ttfb", "receive")
SETUP = ("dns", "connect", "tls")
SETUP_SHARE = 0.3  # connection set-up above this share of the average request is a finding
MIN_ANSWERED = 20


@dataclass(frozen=True)
class Breakdown:
    """One request name's phases: the mean ms each adds to an answered request, and how many
    requests went through each."""

    name: str
    answered: int
    per_request_ms: dict[str, float]
    counts: dict[str, int]

    @property
    def total_ms(self) -> float:
        return sum(self.per_request_ms.values())

    def share(self, phases: tuple[str, ...]) -> float:
        total = self.total_ms
        return sum(self.per_request_ms.get(p, 0.0) for p in phases) / total if total else 0.0


def _breakdown(name: str, encoded: dict[str, str]) -> Breakdown | None:
    histograms = {p: hdr.decode(encoded[p]) for p in PHASES if p in encoded}
    counts = {p: int(h.get_total_count()) for p, h in histograms.items()}
    answered = counts.get("ttfb", 0)
    if not answered:
        return None
    per_request = {
        p: (hdr.stats_ms(h)["mean"] or 0.0) * counts[p] / answered for p, h in histograms.items()
    }
    return Breakdown(name, answered, per_request, counts)


def breakdowns(summary: dict[str, Any]) -> list[Breakdown]:
    """Every request name's breakdown, then all names together (named ``all``); names with
    no phases recorded (older results, or no answer) are left out."""
    histograms = summary.get("histograms") or {}
    found = [
        _breakdown(name, entry.get("phases") or {})
        for name, entry in sorted((histograms.get("by_name") or {}).items())
    ]
    found.append(_breakdown("all", (histograms.get("all") or {}).get("phases") or {}))
    return [b for b in found if b is not None]


def setup_rule(summary: dict[str, Any]) -> Finding | None:
    """Opening connections (DNS, TCP, TLS) takes more than ``SETUP_SHARE`` of the average
    answered request: connections are not reused, or set-up is slow."""
    total = next((b for b in breakdowns(summary) if b.name == "all"), None)
    if total is None or total.answered < MIN_ANSWERED:
        return None
    share = total.share(SETUP)
    if share < SETUP_SHARE:
        return None
    opened = total.counts.get("connect", 0)
    tls = total.per_request_ms.get("tls", 0.0)
    biggest = max(SETUP, key=lambda p: total.per_request_ms.get(p, 0.0))
    evidence = [
        f"{opened:,} of {total.answered:,} answered requests ({opened / total.answered:.0%}) "
        "opened a new connection",
        "of the average request's "
        f"{human_ms(total.total_ms)}: "
        + ", ".join(
            f"{p} {human_ms(total.per_request_ms[p])}" for p in PHASES if p in total.per_request_ms
        ),
    ]
    reused = opened <= total.answered // 2
    return Finding(
        id="connection_setup",
        title=f"Opening connections takes {share:.0%} of the request time"
        + (", mostly TLS handshakes" if biggest == "tls" and tls > 0 else ""),
        severity="warning",
        impact=round(share, 4),
        evidence=evidence,
        figures={
            "setup_share": round(share, 4),
            "opened": opened,
            "answered": total.answered,
            "setup_ms_per_request": round(sum(total.per_request_ms.get(p, 0.0) for p in SETUP), 3),
        },
        window_s=None,
        next_step=(
            "Set-up is slow although connections are reused: look at the network path, the "
            "resolver and the TLS configuration (certificate chain, key size, session resumption)."
            if reused
            else "Reuse connections: keep-alive on the server (no `Connection: close`, a higher "
            "keepalive_requests and timeout) and in the clients, or a connection pool; for TLS, "
            "session resumption makes the handshakes that remain cheaper."
        ),
    )
