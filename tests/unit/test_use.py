"""The sans-IO resource sampler: two readings of cumulative counters in, one sample out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from perfeng.profile.use import (
    ProcessReading,
    SystemReading,
    TreeReading,
    system_sample,
    tree_sample,
)


def _proc(
    pid: int, user: float, system: float, create_time: float = 1.0, **rest: Any
) -> ProcessReading:
    return ProcessReading(
        pid=pid,
        create_time=create_time,
        cpu_user_s=user,
        cpu_system_s=system,
        **rest,
    )


def _tree(wall: float, *processes: ProcessReading) -> TreeReading:
    return TreeReading(wall_s=wall, processes=processes)


# ---- tree: CPU ------------------------------------------------------------------------------


def test_cpu_is_summed_over_the_tree_with_the_user_system_split() -> None:
    before = _tree(100.0, _proc(10, 5.0, 1.0), _proc(11, 2.0, 0.5))
    after = _tree(101.0, _proc(10, 5.5, 1.2), _proc(11, 2.3, 0.5))

    sample = tree_sample(before, after, second=1_700_000_000)

    assert sample.time == 1_700_000_000
    assert sample.processes == 2
    assert sample.user_pct == pytest.approx(80.0)  # 0.5 + 0.3 s of one second
    assert sample.system_pct == pytest.approx(20.0)  # 0.2 + 0.0 s
    assert sample.cpu_pct == pytest.approx(100.0)
    assert sample.busiest_pct == pytest.approx(70.0)  # pid 10: 0.5 + 0.2 s


def test_busiest_process_is_the_single_largest_not_the_first() -> None:
    before = _tree(0.0, _proc(1, 0.0, 0.0), _proc(2, 0.0, 0.0), _proc(3, 0.0, 0.0))
    after = _tree(1.0, _proc(1, 0.1, 0.0), _proc(2, 0.25, 0.5), _proc(3, 0.3, 0.0))

    sample = tree_sample(before, after, second=0)

    assert sample.busiest_pct == pytest.approx(75.0)
    assert sample.cpu_pct == pytest.approx(115.0)


def test_a_process_that_appears_between_readings_counts_all_its_cpu() -> None:
    before = _tree(100.0, _proc(10, 5.0, 1.0))
    after = _tree(
        101.0,
        _proc(10, 5.1, 1.0),
        _proc(12, 0.2, 0.1, create_time=100.5),  # started half-way through the second
    )

    sample = tree_sample(before, after, second=0)

    assert sample.processes == 2
    assert sample.user_pct == pytest.approx(30.0)
    assert sample.system_pct == pytest.approx(10.0)
    assert sample.cpu_pct == pytest.approx(40.0)
    assert sample.busiest_pct == pytest.approx(30.0)  # the newcomer


def test_a_process_that_disappears_is_not_counted() -> None:
    before = _tree(100.0, _proc(10, 5.0, 1.0, rss_bytes=100), _proc(11, 9.0, 9.0, rss_bytes=900))
    after = _tree(101.0, _proc(10, 5.25, 1.0, rss_bytes=120))

    sample = tree_sample(before, after, second=0)

    assert sample.processes == 1
    assert sample.cpu_pct == pytest.approx(25.0)
    assert sample.rss_bytes == 120


def test_a_reused_pid_with_another_create_time_is_a_new_process() -> None:
    # pid 10 ended and the kernel gave its number to a new process: the old process's 50 s of
    # CPU must not be subtracted from the new one's 0.1 s (that would clamp to 0 %)
    before = _tree(100.0, _proc(10, 50.0, 20.0, create_time=1.0, ctx_voluntary=90_000))
    after = _tree(101.0, _proc(10, 0.1, 0.05, create_time=100.4, ctx_voluntary=40))

    sample = tree_sample(before, after, second=0)

    assert sample.user_pct == pytest.approx(10.0)
    assert sample.system_pct == pytest.approx(5.0)
    assert sample.cpu_pct == pytest.approx(15.0)
    assert sample.ctx_voluntary == pytest.approx(40.0)


def test_a_counter_that_goes_backwards_is_clamped_to_zero() -> None:
    before = _tree(0.0, _proc(1, 2.0, 1.0, read_bytes=5000))
    after = _tree(1.0, _proc(1, 1.5, 1.0, read_bytes=4000))

    sample = tree_sample(before, after, second=0)

    assert sample.cpu_pct == pytest.approx(0.0)
    assert sample.read_bytes == pytest.approx(0.0)


def test_cpu_over_a_two_second_gap_is_divided_by_the_wall_time() -> None:
    before = _tree(100.0, _proc(10, 1.0, 0.0))
    after = _tree(102.0, _proc(10, 2.0, 0.5))

    sample = tree_sample(before, after, second=0)

    assert sample.user_pct == pytest.approx(50.0)
    assert sample.system_pct == pytest.approx(25.0)
    assert sample.cpu_pct == pytest.approx(75.0)


# ---- tree: counters and gauges --------------------------------------------------------------


def test_counters_are_per_second_over_a_two_second_gap() -> None:
    before = _tree(
        100.0,
        _proc(
            10,
            0.0,
            0.0,
            ctx_voluntary=1000,
            ctx_involuntary=10,
            read_bytes=0,
            write_bytes=8192,
        ),
    )
    after = _tree(
        102.0,
        _proc(
            10,
            0.0,
            0.0,
            ctx_voluntary=1600,
            ctx_involuntary=30,
            read_bytes=4096,
            write_bytes=9192,
        ),
        # a newcomer counts all its counters, as it counts all its CPU
        _proc(11, 0.0, 0.0, create_time=101.0, ctx_voluntary=100, read_bytes=1000),
    )

    sample = tree_sample(before, after, second=0)

    assert sample.ctx_voluntary == pytest.approx((600 + 100) / 2)
    assert sample.ctx_involuntary == pytest.approx(10.0)
    assert sample.read_bytes == pytest.approx((4096 + 1000) / 2)
    assert sample.write_bytes == pytest.approx(500.0)


def test_counters_round_to_three_decimals() -> None:
    before = _tree(0.0, _proc(1, 0.0, 0.0, ctx_voluntary=0))
    after = _tree(3.0, _proc(1, 0.0, 0.0, ctx_voluntary=1))

    assert tree_sample(before, after, second=0).ctx_voluntary == 0.333


def test_readings_the_os_does_not_offer_stay_none() -> None:
    before = _tree(0.0, _proc(1, 0.0, 0.0), _proc(2, 0.0, 0.0))
    after = _tree(1.0, _proc(1, 0.5, 0.0), _proc(2, 0.5, 0.0))

    sample = tree_sample(before, after, second=0)

    assert sample.cpu_pct == pytest.approx(100.0)
    assert sample.rss_bytes is None
    assert sample.uss_bytes is None
    assert sample.threads is None
    assert sample.fds is None
    assert sample.fd_limit is None
    assert sample.ctx_voluntary is None
    assert sample.ctx_involuntary is None
    assert sample.read_bytes is None
    assert sample.write_bytes is None
    assert sample.tcp is None


def test_gauges_sum_the_known_values_when_some_processes_have_none() -> None:
    before = _tree(0.0)
    after = _tree(
        1.0,
        _proc(1, 0.0, 0.0, fds=10, rss_bytes=1000, threads=4, uss_bytes=None),
        _proc(2, 0.0, 0.0, fds=None, rss_bytes=2500, threads=None, uss_bytes=None),
        _proc(3, 0.0, 0.0, fds=7, rss_bytes=None, threads=2, uss_bytes=300),
    )

    sample = tree_sample(before, after, second=0)

    assert sample.fds == 17
    assert sample.rss_bytes == 3500
    assert sample.threads == 6
    assert sample.uss_bytes == 300


def test_a_counter_unknown_in_one_of_the_two_readings_is_left_out() -> None:
    before = _tree(
        0.0,
        _proc(1, 0.0, 0.0, read_bytes=None),  # e.g. access denied at the first reading
        _proc(2, 0.0, 0.0, read_bytes=100),
    )
    after = _tree(
        1.0,
        _proc(1, 0.0, 0.0, read_bytes=10_000),
        _proc(2, 0.0, 0.0, read_bytes=350),
    )

    assert tree_sample(before, after, second=0).read_bytes == pytest.approx(250.0)


def test_a_counter_unknown_for_every_process_is_none() -> None:
    before = _tree(0.0, _proc(1, 0.0, 0.0, read_bytes=None))
    after = _tree(1.0, _proc(1, 0.0, 0.0, read_bytes=10_000))

    assert tree_sample(before, after, second=0).read_bytes is None


def test_tcp_states_are_summed_over_the_tree() -> None:
    tcp1: Mapping[str, int] = {"TIME_WAIT": 1, "ESTABLISHED": 3}
    tcp2: Mapping[str, int] = {"LISTEN": 1, "ESTABLISHED": 2}
    before = _tree(0.0)
    after = _tree(
        1.0,
        _proc(1, 0.0, 0.0, tcp=tcp1),
        _proc(2, 0.0, 0.0, tcp=tcp2),
        _proc(3, 0.0, 0.0, tcp=None),
    )

    tcp = tree_sample(before, after, second=0).tcp

    assert tcp == {"ESTABLISHED": 5, "LISTEN": 1, "TIME_WAIT": 1}
    assert list(tcp) == ["ESTABLISHED", "LISTEN", "TIME_WAIT"]  # sorted by state


def test_tcp_with_no_connections_is_an_empty_dict_not_none() -> None:
    after = _tree(1.0, _proc(1, 0.0, 0.0, tcp={}))

    assert tree_sample(_tree(0.0), after, second=0).tcp == {}


def test_fd_limit_is_the_smallest_in_the_tree() -> None:
    after = _tree(
        1.0,
        _proc(1, 0.0, 0.0, fd_limit=4096),
        _proc(2, 0.0, 0.0, fd_limit=1024),
        _proc(3, 0.0, 0.0, fd_limit=None),
        _proc(4, 0.0, 0.0, fd_limit=65536),
    )

    assert tree_sample(_tree(0.0), after, second=0).fd_limit == 1024


def test_an_empty_tree_has_no_cpu() -> None:
    before = _tree(0.0, _proc(1, 3.0, 1.0))
    after = _tree(1.0)

    sample = tree_sample(before, after, second=7)

    assert sample.time == 7
    assert sample.processes == 0
    assert sample.cpu_pct is None
    assert sample.user_pct is None
    assert sample.system_pct is None
    assert sample.busiest_pct is None
    assert sample.rss_bytes is None
    assert sample.fds is None
    assert sample.fd_limit is None
    assert sample.ctx_voluntary is None
    assert sample.tcp is None


def test_counters_are_none_when_no_time_passed() -> None:
    before = _tree(5.0, _proc(1, 0.0, 0.0, ctx_voluntary=1))
    after = _tree(5.0, _proc(1, 0.0, 0.0, ctx_voluntary=9))

    assert tree_sample(before, after, second=0).ctx_voluntary is None


# ---- system ---------------------------------------------------------------------------------


def _system(
    wall: float = 1000.0,
    busy: tuple[float, ...] = (10.0, 20.0),
    total: tuple[float, ...] = (100.0, 100.0),
    steal: float | None = 0.0,
    iowait: float | None = 0.0,
    total_s: float = 200.0,
    load1: float = 0.5,
    psi: Mapping[str, int] | None = None,
    mem: int = 8_000_000_000,
    net_drops: int | None = 0,
    net_errors: int | None = 0,
    listen_overflows: int | None = 0,
    listen_drops: int | None = 0,
    generator: float | None = 0.0,
) -> SystemReading:
    return SystemReading(
        wall_s=wall,
        per_cpu_busy_s=busy,
        per_cpu_total_s=total,
        steal_s=steal,
        iowait_s=iowait,
        total_s=total_s,
        load1=load1,
        psi_us={} if psi is None else psi,
        mem_available_bytes=mem,
        net_drops=net_drops,
        net_errors=net_errors,
        listen_overflows=listen_overflows,
        listen_drops=listen_drops,
        generator_cpu_s=generator,
    )


def test_per_cpu_busy_share_and_their_mean() -> None:
    before = _system(busy=(10.0, 20.0, 30.0), total=(100.0, 100.0, 100.0))
    after = _system(wall=1001.0, busy=(10.5, 20.25, 31.0), total=(101.0, 101.0, 101.0))

    sample = system_sample(before, after, second=42)

    assert sample.time == 42
    assert sample.per_cpu_pct == pytest.approx([50.0, 25.0, 100.0])
    assert sample.cpu_pct == pytest.approx(175.0 / 3, abs=0.005)
    assert sample.cpu_pct == round(sample.cpu_pct, 2)


def test_a_cpu_whose_clock_did_not_advance_reads_zero() -> None:
    before = _system(busy=(10.0, 20.0), total=(100.0, 100.0))
    after = _system(wall=1001.0, busy=(10.5, 20.0), total=(101.0, 100.0))

    sample = system_sample(before, after, second=0)

    assert sample.per_cpu_pct == pytest.approx([50.0, 0.0])
    assert sample.cpu_pct == pytest.approx(25.0)


def test_no_cpus_reads_zero() -> None:
    sample = system_sample(_system(busy=(), total=()), _system(wall=1001.0, busy=(), total=()), 0)

    assert sample.per_cpu_pct == []
    assert sample.cpu_pct == 0.0


def test_steal_and_iowait_are_shares_of_all_cpu_time() -> None:
    # two CPUs over one second: 2 s of CPU time in all
    before = _system(total_s=200.0, steal=1.0, iowait=3.0)
    after = _system(wall=1001.0, total_s=202.0, steal=1.1, iowait=3.5)

    sample = system_sample(before, after, second=0)

    assert sample.steal_pct == pytest.approx(5.0)
    assert sample.iowait_pct == pytest.approx(25.0)


def test_steal_and_iowait_unknown_stay_none() -> None:
    before = _system(steal=None, iowait=None)
    after = _system(wall=1001.0, total_s=202.0, steal=None, iowait=4.0)

    sample = system_sample(before, after, second=0)

    assert sample.steal_pct is None
    assert sample.iowait_pct is None


def test_psi_microseconds_become_a_share_of_the_second() -> None:
    before = _system(
        psi={
            "cpu_some": 1_000_000,
            "memory_some": 0,
            "memory_full": 0,
            "io_some": 5_000_000,
            "io_full": 2_000_000,
        }
    )
    after = _system(
        wall=1001.0,
        psi={
            "cpu_some": 1_250_000,  # 250 ms stalled of 1 s
            "memory_some": 20_000,
            "memory_full": 10_000,
            "io_some": 6_000_000,  # the whole second
            "io_full": 2_000_000,
        },
    )

    sample = system_sample(before, after, second=0)

    assert sample.psi_cpu_some == pytest.approx(25.0)
    assert sample.psi_memory_some == pytest.approx(2.0)
    assert sample.psi_memory_full == pytest.approx(1.0)
    assert sample.psi_io_some == pytest.approx(100.0)
    assert sample.psi_io_full == pytest.approx(0.0)


def test_psi_over_a_two_second_gap_is_divided_by_the_wall_time() -> None:
    before = _system(wall=1000.0, psi={"cpu_some": 0})
    after = _system(wall=1002.0, psi={"cpu_some": 500_000})

    assert system_sample(before, after, second=0).psi_cpu_some == pytest.approx(25.0)


def test_missing_psi_keys_are_none() -> None:
    before = _system(psi={"cpu_some": 0, "memory_some": 0})
    after = _system(wall=1001.0, psi={"cpu_some": 100_000, "io_some": 300_000})

    sample = system_sample(before, after, second=0)

    assert sample.psi_cpu_some == pytest.approx(10.0)
    assert sample.psi_memory_some is None  # absent from the second reading
    assert sample.psi_io_some is None  # absent from the first reading
    assert sample.psi_memory_full is None
    assert sample.psi_io_full is None


def test_generator_cpu_is_a_share_of_one_core() -> None:
    before = _system(wall=1000.0, generator=3.0)
    after = _system(wall=1002.0, generator=3.4)

    assert system_sample(before, after, second=0).generator_cpu_pct == pytest.approx(20.0)


def test_generator_cpu_unknown_is_none() -> None:
    before = _system(generator=None)
    after = _system(wall=1001.0, generator=1.0)

    assert system_sample(before, after, second=0).generator_cpu_pct is None


def test_net_drops_errors_and_listen_queue_are_per_second() -> None:
    before = _system(wall=1000.0, net_drops=100, net_errors=0, listen_overflows=5, listen_drops=7)
    after = _system(wall=1002.0, net_drops=160, net_errors=1, listen_overflows=9, listen_drops=13)

    sample = system_sample(before, after, second=0)

    assert sample.net_drops == pytest.approx(30.0)
    assert sample.net_errors == pytest.approx(0.5)
    assert sample.listen_overflows == pytest.approx(2.0)
    assert sample.listen_drops == pytest.approx(3.0)


def test_net_counters_unknown_stay_none_and_a_reset_reads_zero() -> None:
    before = _system(net_drops=None, net_errors=50, listen_overflows=3, listen_drops=None)
    after = _system(wall=1001.0, net_drops=10, net_errors=20, listen_overflows=None, listen_drops=1)

    sample = system_sample(before, after, second=0)

    assert sample.net_drops is None
    assert sample.net_errors == pytest.approx(0.0)  # the counter went back (a reset)
    assert sample.listen_overflows is None
    assert sample.listen_drops is None


def test_gauges_come_from_the_second_reading() -> None:
    before = _system(load1=0.25, mem=9_000_000_000)
    after = _system(wall=1001.0, load1=3.5, mem=1_000_000_000)

    sample = system_sample(before, after, second=0)

    assert sample.load1 == 3.5
    assert sample.mem_available_bytes == 1_000_000_000
