"""The findings rules on synthetic runs with known causes (analysis/diagnose.py).

Each run is built second by second: the offered rate, what was answered, the latencies
(recorded in a real HdrHistogram), and, when the target was watched, its CPU and memory and
a profile. The recorded runs of real services are tested in test_diagnose_recorded.py.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import pytest

from perfeng.analysis.diagnose import Context, diagnose
from perfeng.analysis.seconds import Baseline
from perfeng.model import histogram as hdr
from perfeng.model.findings import LIMITS, Finding
from perfeng.model.watch import Profile, ProfileStage, Stack, to_builtins

T0 = 1_800_000_000
APP = "/srv/app/orders.py"
LIB = "/usr/lib/python3.11"


@dataclass
class Sec:
    offered: float
    answered: int
    latency_ms: list[float]
    errors: int = 0
    dropped: int = 0
    cpu: float | None = None  # the target's busiest process, % of a core
    rss: int | None = None
    fds: int | None = None
    machine: float = 30.0
    error_class: str = "http_5xx"


def histogram_of(values_ms: list[float]) -> str:
    histogram = hdr.new_histogram()
    for value in values_ms:
        histogram.record_value(max(int(value * 1000), 1))
    return hdr.encode(histogram)


def entry(index: int, sec: Sec) -> dict[str, Any]:
    ordered = sorted(sec.latency_ms) or [0.0]

    def at(q: float) -> float | None:
        return ordered[min(int(q * len(ordered)), len(ordered) - 1)] if sec.latency_ms else None

    return {
        "time": T0 + index,
        "elapsed_s": float(index),
        "duration_s": 1.0,
        "target_rate": sec.offered,
        "achieved_rate": float(sec.answered),
        "requests": sec.answered,
        "errors": sec.errors,
        "dropped": sec.dropped,
        "errors_by_class": {sec.error_class: sec.errors} if sec.errors else {},
        "p50_ms": at(0.5),
        "p90_ms": at(0.9),
        "p99_ms": at(0.99),
        "max_ms": ordered[-1] if sec.latency_ms else None,
        "in_flight": 0,
        "histogram": histogram_of(sec.latency_ms),
    }


def tree_sample(index: int, sec: Sec) -> dict[str, Any]:
    return {
        "time": T0 + index,
        "processes": 1,
        "cpu_pct": sec.cpu,
        "user_pct": sec.cpu,
        "system_pct": 0.0,
        "busiest_pct": sec.cpu,
        "rss_bytes": sec.rss,
        "uss_bytes": sec.rss,
        "threads": 4,
        "fds": sec.fds,
        "fd_limit": 1024,
        "ctx_voluntary": 0.0,
        "ctx_involuntary": 0.0,
        "read_bytes": 0.0,
        "write_bytes": 0.0,
        "tcp": {"ESTABLISHED": 3},
    }


def system_sample(index: int, sec: Sec, generator: float = 10.0) -> dict[str, Any]:
    return {
        "time": T0 + index,
        "cpu_pct": sec.machine,
        "per_cpu_pct": [sec.machine, sec.machine],
        "steal_pct": 0.0,
        "iowait_pct": 0.0,
        "load1": 1.0,
        "psi_cpu_some": 0.0,
        "psi_memory_some": 0.0,
        "psi_memory_full": 0.0,
        "psi_io_some": 0.0,
        "psi_io_full": 0.0,
        "mem_available_bytes": 8 * 2**30,
        "net_drops": 0.0,
        "net_errors": 0.0,
        "listen_overflows": 0.0,
        "listen_drops": 0.0,
        "generator_cpu_pct": generator,
    }


@dataclass
class RunBuilder:
    seconds: list[Sec] = field(default_factory=list)
    model: str = "open"
    watched: bool = True
    profile: Profile | None = None
    warnings: list[str] = field(default_factory=list)
    thresholds: list[dict[str, Any]] = field(default_factory=list)
    generator_cpu: float = 0.1

    def document(self) -> dict[str, Any]:
        series = [entry(i, s) for i, s in enumerate(self.seconds)]
        requests = sum(s.answered for s in self.seconds)
        errors = sum(s.errors for s in self.seconds)
        document: dict[str, Any] = {
            "format": "perfeng-run",
            "model": self.model,
            "metadata": {"start_epoch_s": T0},
            "workloads": [{"plan": {"duration_s": float(len(self.seconds) + 1)}}],
            "generator": {
                "warnings": self.warnings,
                "cpu_share_of_core": self.generator_cpu,
                "schedule_lag_ms": {"p99": 0.2},
                "loop_lag_ms": {"p99": 0.2},
            },
            "summary": {
                "requests": requests,
                "errors": errors,
                "error_rate": errors / requests if requests else 0.0,
                "errors_by_class": {"http_5xx": errors},
                "by_name": {"GET /orders": {"requests": requests, "errors": errors}},
                "timeseries": series,
                "thresholds": self.thresholds,
            },
        }
        if self.watched:
            document["resources"] = {
                "interval_s": 1.0,
                "cpu_count": 2,
                "trees": [
                    {
                        "pid": 4242,
                        "name": "python",
                        "cmdline": ["python", "app.py"],
                        "samples": [tree_sample(i, s) for i, s in enumerate(self.seconds)],
                        "exited_at": None,
                    }
                ],
                "system": [system_sample(i, s) for i, s in enumerate(self.seconds)],
                "unavailable": [],
            }
        if self.profile is not None:
            document["profile"] = to_builtins(self.profile)
        return document


def latencies(median: float, count: int, spread: float = 0.1, seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    return [median * (1 + spread * (rng.random() - 0.5)) for _ in range(count)]


def ramp(
    limit: float, service_ms: float, *, cpu_at_limit: float, top: float = 600.0, steps: int = 12
) -> list[Sec]:
    """An open-model ramp past a throughput limit: answers follow the offered rate up to the
    limit, then stay there while latency grows with the queue."""
    out = []
    queue = 0.0
    for i in range(steps):
        offered = 20 + (top - 20) * i / (steps - 1)
        answered = min(offered, limit)
        queue += max(offered - limit, 0)
        wait = 1000 * queue / limit if limit else 0
        cpu = cpu_at_limit * answered / limit
        out.append(
            Sec(
                offered,
                int(answered),
                latencies(service_ms + wait, max(int(answered), 1), seed=i),
                cpu=cpu,
                rss=50 * 2**20,
                fds=20,
            )
        )
    return out


def ids(findings: list[Finding]) -> list[str]:
    return [f.id for f in findings]


def top_target(findings: list[Finding]) -> Finding:
    return next(f for f in findings if f.id not in ("generator", "watch_unavailable"))


def profile_of(stacks: list[tuple[list[str], int, int]]) -> Profile:
    frames: dict[str, int] = {}
    built = [
        Stack(0, [frames.setdefault(f, len(frames)) for f in names], wall, cpu)
        for names, wall, cpu in stacks
    ]
    return Profile(
        status="ok",
        reason=None,
        hint=None,
        sampler="py-spy 0.4.3",
        rate_hz=100,
        frames=list(frames),
        stages=[ProfileStage(index=0, start_s=0.0, end_s=13.0)],
        stacks=built,
        code={f"{APP}:88": "with INVENTORY_LOCK:"},
    )


LOOP = [f"<module> ({APP}:1)", f"main ({APP}:120)", f"Runner.run ({LIB}/asyncio/runners.py:118)"]
WORKER = [
    f"Thread.run ({LIB}/threading.py:975)",
    f"_worker ({LIB}/concurrent/futures/thread.py:83)",
]


def test_cpu_saturation_names_the_hot_function() -> None:
    profile = profile_of(
        [
            ([*LOOP, f"handle ({APP}:40)", f"parse_order ({APP}:12)"], 620, 610),
            ([*LOOP, f"handle ({APP}:41)"], 90, 88),
            (LOOP, 300, 5),
        ]
    )
    run = RunBuilder(ramp(200, 5, cpu_at_limit=99), profile=profile)
    findings = diagnose(run.document())
    top = top_target(findings)
    assert top.id == "cpu_saturation" and top.severity == "critical"
    assert top.where[0].function == "parse_order"
    assert top.where[0].own_share == pytest.approx(610 / 703, abs=0.01)
    assert top.where[0].total_share == pytest.approx(610 / 703, abs=0.01)
    handle = next(w for w in top.where if w.function == "handle")
    assert handle.total_share == pytest.approx(698 / 703, abs=0.01)
    assert top.figures["throughput_limit_rps"] == pytest.approx(200, abs=1)
    assert "no_bottleneck" not in ids(findings)


def test_serialisation_when_the_cpu_idles_and_one_request_is_in_service() -> None:
    profile = profile_of(
        [
            ([*WORKER, f"handle ({APP}:80)", f"reserve ({APP}:88)"], 900, 0),
            ([*WORKER, f"handle ({APP}:80)", f"reserve ({APP}:89)"], 120, 0),
            (WORKER, 400, 0),  # idle pool workers: waiting for work, not in a request
            (LOOP, 500, 2),
        ]
    )
    run = RunBuilder(ramp(200, 5, cpu_at_limit=8), profile=profile)
    top = top_target(diagnose(run.document()))
    assert top.id == "serialisation"
    assert top.figures["in_service"] == pytest.approx(1.0, abs=0.15)
    assert top.where[0].function == "reserve" and top.where[0].line == 88
    assert top.where[0].code == "with INVENTORY_LOCK:"
    assert top.where[0].kind == "waiting"


def test_pool_limit_counts_the_requests_in_service() -> None:
    run = RunBuilder(ramp(400, 10, cpu_at_limit=12))
    top = top_target(diagnose(run.document()))
    assert top.id == "pool_limit"
    assert round(top.figures["in_service"]) == 4
    assert "about 4" in top.title


def test_an_unwatched_limit_says_what_it_cannot_tell() -> None:
    run = RunBuilder(ramp(300, 5, cpu_at_limit=50), watched=False)
    findings = diagnose(run.document())
    top = top_target(findings)
    assert top.id == "throughput_limit"
    assert "--target-pid" in top.next_step
    assert "cpu_saturation" not in ids(findings) and "serialisation" not in ids(findings)


def _shedding(limit_in_flight: int, service_ms: float) -> list[Sec]:
    """Errors once the offered rate times the service time passes a fixed concurrency."""
    out = []
    for i in range(14):
        offered = 20 + 580 * i / 13
        in_flight = offered * service_ms / 1000
        failing = max(in_flight - limit_in_flight, 0) / max(in_flight, 1e-9)
        errors = int(offered * failing)
        out.append(
            Sec(
                offered,
                int(offered),
                latencies(service_ms, int(offered), seed=i),
                errors=errors,
                cpu=10 + i,
                rss=40 * 2**20,
                fds=30,
            )
        )
    return out


def test_errors_under_load_find_the_concurrency_limit() -> None:
    run = RunBuilder(_shedding(8, 20))
    top = top_target(diagnose(run.document()))
    assert top.id == "errors_under_load"
    assert top.figures["in_flight_at_onset"] == pytest.approx(8, abs=1.5)
    assert top.figures["error_rate_low_load"] == 0
    assert "http_5xx" in top.evidence[0]


def test_errors_at_every_load_are_not_a_capacity_problem() -> None:
    seconds = [
        Sec(r, r, latencies(5, r, seed=r), errors=r // 10, cpu=10.0, rss=40 * 2**20, fds=30)
        for r in range(20, 260, 20)
    ]
    findings = diagnose(RunBuilder(seconds).document())
    assert "errors" in ids(findings) and "errors_under_load" not in ids(findings)
    assert "no_bottleneck" in ids(findings)


def test_memory_growth_slope_per_request_and_time_to_exhaust() -> None:
    seconds = []
    served = 0
    for i in range(12):
        rate = 300
        served += rate
        seconds.append(
            Sec(
                rate,
                rate,
                latencies(1, rate, seed=i),
                cpu=15.0,
                rss=30 * 2**20 + served * 1024 + (i % 3) * 4096,
                fds=25,
            )
        )
    findings = diagnose(RunBuilder(seconds).document())
    top = top_target(findings)
    assert top.id == "memory_growth"
    assert top.figures["per_request"] == pytest.approx(1024, rel=0.05)
    assert top.figures["per_minute"] == pytest.approx(300 * 1024 * 60, rel=0.05)
    exhaust = top.figures["time_to_exhaust_s"]
    assert isinstance(exhaust, float)
    assert exhaust == pytest.approx(8 * 2**30 / (300 * 1024), rel=0.05)


def test_warm_up_memory_that_stops_growing_is_not_a_leak() -> None:
    seconds = [
        Sec(
            300,
            300,
            latencies(1, 300, seed=i),
            cpu=15.0,
            rss=30 * 2**20 + min(i, 3) * 2**20,
            fds=25,
        )
        for i in range(12)
    ]
    assert "memory_growth" not in ids(diagnose(RunBuilder(seconds).document()))


def test_file_descriptors_growing_with_requests() -> None:
    seconds = [
        Sec(200, 200, latencies(2, 200, seed=i), cpu=10.0, rss=30 * 2**20, fds=20 + 20 * i)
        for i in range(10)
    ]
    top = top_target(diagnose(RunBuilder(seconds).document()))
    assert top.id == "fd_growth"
    assert top.figures["per_request"] == pytest.approx(0.1, rel=0.05)


def test_tail_latency_two_modes_and_periodic_spikes() -> None:
    seconds = []
    for i in range(20):
        values = latencies(2, 190, seed=i) + latencies(60, 10, seed=100 + i)
        if i % 5 == 0:
            values.append(400.0)  # a pause every 5 s
        seconds.append(Sec(200, len(values), values, cpu=20.0, rss=30 * 2**20, fds=20))
    findings = diagnose(RunBuilder(seconds).document())
    tail = next(f for f in findings if f.id == "tail_latency")
    text = " ".join(tail.evidence)
    assert "two modes" in text
    assert "every 5.0 s" in text
    assert "no_bottleneck" in ids(findings)  # a tail is not a limit


def test_the_generator_comes_first_and_makes_the_rest_less_certain() -> None:
    run = RunBuilder(
        ramp(200, 5, cpu_at_limit=99),
        warnings=["the generator used 97% of a CPU core"],
        generator_cpu=0.97,
    )
    findings = diagnose(run.document())
    assert findings[0].id == "generator" and findings[0].severity == "critical"
    assert all(f.certainty == "low" for f in findings[1:])


def test_no_bottleneck_says_the_highest_load_tried() -> None:
    seconds = [
        Sec(r, r, latencies(3, r, seed=r), cpu=r / 20, rss=30 * 2**20, fds=20)
        for r in range(20, 420, 40)
    ]
    findings = diagnose(RunBuilder(seconds).document())
    assert ids(findings) == ["no_bottleneck"]
    assert "380 req/s" in findings[0].title
    assert not set(ids(findings)) & LIMITS


def test_a_stall_is_not_mistaken_for_a_throughput_limit() -> None:
    seconds = [
        Sec(100, 100, latencies(2, 100, seed=i), cpu=10.0, rss=2**25, fds=9) for i in range(10)
    ]
    seconds[5] = Sec(100, 0, [], cpu=0.0, rss=2**25, fds=9)
    seconds[6] = Sec(100, 0, [], cpu=0.0, rss=2**25, fds=9)
    findings = diagnose(RunBuilder(seconds).document())
    assert top_target(findings).id == "stall"
    assert not {"serialisation", "pool_limit", "throughput_limit"} & set(ids(findings))


def test_the_slo_and_an_unloaded_baseline_set_severity_and_impact() -> None:
    run = RunBuilder(ramp(200, 5, cpu_at_limit=99))
    strict = Context(
        latency_limit_ms=50, latency_slo="p99<50ms", baseline=Baseline(5, 8, 5, "unloaded run")
    )
    loose = Context(latency_limit_ms=100_000, latency_slo="p99<100s")
    tight = top_target(diagnose(run.document(), strict))
    lax = top_target(diagnose(run.document(), loose))
    assert tight.severity == "critical" and lax.severity == "warning"
    assert tight.impact > lax.impact


def test_a_damaged_profile_section_is_named() -> None:
    from perfeng.model.watch import ShapeError

    document = RunBuilder(ramp(200, 5, cpu_at_limit=99)).document()
    document["profile"] = {"status": "ok", "frames": "not a list"}
    with pytest.raises(ShapeError, match="profile"):
        diagnose(document)


def test_a_run_too_short_to_judge_says_so() -> None:
    findings = diagnose(RunBuilder([Sec(10, 1, [3.0])]).document())
    assert ids(findings) == ["no_bottleneck"]
    assert "Too little" in findings[0].title
