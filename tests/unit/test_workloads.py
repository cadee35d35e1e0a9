"""Workload configs validate and plan themselves; ``parse_stages`` reads ``--stages``."""

from __future__ import annotations

import math
from typing import Any

import pytest

from perfeng.engine.workloads import (
    WORKLOAD_TYPES,
    ConstantRate,
    Plan,
    RampingRate,
    RampingUsers,
    Stage,
    Users,
    parse_stages,
)
from perfeng.errors import ExitCode, UsageError

# ---- validation ---------------------------------------------------------------------------------

INVALID: list[tuple[str, type, dict[str, Any], str]] = [
    # (id, config class, arguments, pattern the message must match)
    ("rate-0", ConstantRate, {"rate": 0, "duration_s": 10}, r"rate must be above 0, got 0"),
    ("rate-negative", ConstantRate, {"rate": -5, "duration_s": 10}, r"rate must be above 0"),
    ("rate-nan", ConstantRate, {"rate": math.nan, "duration_s": 10}, r"rate must be above 0"),
    ("rate-too-high", ConstantRate, {"rate": 2e6, "duration_s": 10}, r"above 1,000,000/s"),
    ("rate-inf", ConstantRate, {"rate": math.inf, "duration_s": 10}, r"above 1,000,000/s"),
    ("duration-0", ConstantRate, {"rate": 10, "duration_s": 0}, r"duration must be above 0"),
    ("duration-negative", ConstantRate, {"rate": 10, "duration_s": -1}, r"duration"),
    ("duration-nan", ConstantRate, {"rate": 10, "duration_s": math.nan}, r"duration"),
    ("duration-inf", ConstantRate, {"rate": 10, "duration_s": math.inf}, r"duration"),
    (
        "max-in-flight-0",
        ConstantRate,
        {"rate": 10, "duration_s": 1, "max_in_flight": 0},
        r"max-in-flight must be at least 1",
    ),
    ("ramp-no-stages", RampingRate, {"stages": ()}, r"at least one stage"),
    (
        "ramp-all-zero",
        RampingRate,
        {"stages": ((10, 0), (5, 0))},
        r"every stage has rate 0, nothing would be sent",
    ),
    (
        "ramp-stage-duration-0",
        RampingRate,
        {"stages": ((10, 100), (0, 50))},
        r"every stage needs a duration above 0",
    ),
    ("ramp-stage-duration-negative", RampingRate, {"stages": ((-1, 100),)}, r"duration above 0"),
    ("ramp-stage-duration-nan", RampingRate, {"stages": ((math.nan, 100),)}, r"duration above 0"),
    ("ramp-stage-duration-inf", RampingRate, {"stages": ((math.inf, 100),)}, r"duration"),
    ("ramp-stage-negative-rate", RampingRate, {"stages": ((10, -1),)}, r"stage rate -1 .*range"),
    ("ramp-stage-rate-too-high", RampingRate, {"stages": ((10, 2e6),)}, r"out of range"),
    ("ramp-stage-rate-nan", RampingRate, {"stages": ((10, math.nan),)}, r"out of range"),
    (
        "ramp-negative-start",
        RampingRate,
        {"stages": ((10, 10),), "start_rate": -1},
        r"start rate must not be negative",
    ),
    ("ramp-nan-start", RampingRate, {"stages": ((10, 10),), "start_rate": math.nan}, r"start"),
    # the start is a rate like any stage's: the same bounds hold
    ("ramp-start-too-high", RampingRate, {"stages": ((10, 0),), "start_rate": 2e6}, r"start"),
    ("ramp-start-inf", RampingRate, {"stages": ((10, 0),), "start_rate": math.inf}, r"start"),
    (
        "ramp-max-in-flight-0",
        RampingRate,
        {"stages": ((10, 10),), "max_in_flight": 0},
        r"max-in-flight must be at least 1",
    ),
    ("users-0", Users, {"users": 0, "duration_s": 10}, r"users must be at least 1, got 0"),
    ("users-negative", Users, {"users": -3, "duration_s": 10}, r"users must be at least 1"),
    ("users-too-many", Users, {"users": 100_001, "duration_s": 10}, r"above 100,000"),
    ("users-duration-0", Users, {"users": 1, "duration_s": 0}, r"duration must be above 0"),
    ("users-duration-nan", Users, {"users": 1, "duration_s": math.nan}, r"duration"),
    ("ramping-users-no-stages", RampingUsers, {"stages": ()}, r"at least one stage"),
    (
        "ramping-users-all-zero",
        RampingUsers,
        {"stages": ((10, 0), (10, 0))},
        r"every stage has 0 users, nothing would be sent",
    ),
    (
        "ramping-users-fraction",
        RampingUsers,
        {"stages": ((10, 2.5),)},
        r"users must be whole, got 2.5",
    ),
    ("ramping-users-tiny-fraction", RampingUsers, {"stages": ((10, 5), (10, 0.1))}, r"whole"),
    ("ramping-users-negative", RampingUsers, {"stages": ((10, -1),)}, r"out of range"),
    ("ramping-users-too-many", RampingUsers, {"stages": ((10, 100_001),)}, r"out of range"),
    ("ramping-users-duration-0", RampingUsers, {"stages": ((0, 5),)}, r"duration above 0"),
    (
        "ramping-users-negative-start",
        RampingUsers,
        {"stages": ((10, 5),), "start_users": -1},
        r"start users must not be negative",
    ),
    # the start is a user count like any stage's: whole and within the same bounds
    (
        "ramping-users-fractional-start",
        RampingUsers,
        {"stages": ((10, 5),), "start_users": 2.5},
        r"whole|start",
    ),
    (
        "ramping-users-start-too-many",
        RampingUsers,
        {"stages": ((10, 0),), "start_users": 200_000},
        r"start|range|100,000",
    ),
]


@pytest.mark.parametrize(
    ("cls", "kwargs", "pattern"), [i[1:] for i in INVALID], ids=[i[0] for i in INVALID]
)
def test_invalid_config_raises_usage_error(cls: type, kwargs: dict[str, Any], pattern: str) -> None:
    with pytest.raises(UsageError, match=pattern) as info:
        cls(**kwargs).plan()  # plan() too: a config that constructs must also plan
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{cls(**_valid(cls)).name}: ")  # names the workload
    assert info.value.exit_code is ExitCode.USAGE


VALID_ARGS: dict[type, dict[str, Any]] = {
    ConstantRate: {"rate": 1, "duration_s": 1},
    RampingRate: {"stages": ((1, 1),)},
    Users: {"users": 1, "duration_s": 1},
    RampingUsers: {"stages": ((1, 1),)},
}
BAD_ARGS: dict[type, dict[str, Any]] = {
    ConstantRate: {"rate": 0, "duration_s": 1},
    RampingRate: {"stages": ()},
    Users: {"users": 0, "duration_s": 1},
    RampingUsers: {"stages": ()},
}


def _valid(cls: type) -> dict[str, Any]:
    return VALID_ARGS[cls]


@pytest.mark.parametrize("cls", [ConstantRate, RampingRate, Users, RampingUsers])
def test_messages_name_the_workload(cls: type) -> None:
    bad = BAD_ARGS[cls]
    with pytest.raises(UsageError, match=r"^checkout: "):
        cls(**bad, name="checkout")
    with pytest.raises(UsageError, match=rf"^{cls(**_valid(cls)).type}: "):
        cls(**bad)


VALID: list[tuple[str, type, dict[str, Any]]] = [
    ("rate-fraction", ConstantRate, {"rate": 0.01, "duration_s": 1000}),
    ("rate-max", ConstantRate, {"rate": 1e6, "duration_s": 1}),
    ("rate-short", ConstantRate, {"rate": 10, "duration_s": 0.001}),
    ("rate-max-in-flight", ConstantRate, {"rate": 10, "duration_s": 1, "max_in_flight": 1}),
    ("ramp-one-stage", RampingRate, {"stages": ((1, 1),)}),
    ("ramp-zero-stages-with-start", RampingRate, {"stages": ((10, 0),), "start_rate": 5}),
    ("ramp-zero-stage-in-middle", RampingRate, {"stages": ((10, 5), (10, 0), (10, 5))}),
    ("ramp-max", RampingRate, {"stages": ((10, 1e6),), "start_rate": 1e6}),
    ("users-1", Users, {"users": 1, "duration_s": 1}),
    ("users-max", Users, {"users": 100_000, "duration_s": 1}),
    ("ramping-users-float-whole", RampingUsers, {"stages": ((10, 5.0),)}),
    ("ramping-users-start-only", RampingUsers, {"stages": ((10, 0),), "start_users": 3}),
    ("ramping-users-max", RampingUsers, {"stages": ((10, 100_000),)}),
]


@pytest.mark.parametrize(("cls", "kwargs"), [v[1:] for v in VALID], ids=[v[0] for v in VALID])
def test_valid_configs_construct_and_plan(cls: type, kwargs: dict[str, Any]) -> None:
    config = cls(**kwargs)
    plan = config.plan()
    assert plan.duration_s > 0
    assert plan.stages
    assert config.to_dict()["type"] == config.type


# ---- plans --------------------------------------------------------------------------------------

PLANS: list[tuple[str, Any, Plan]] = [
    (
        "constant-rate",
        ConstantRate(rate=100, duration_s=30),
        Plan("open", "req/s", (Stage(30, 100, 100),), 3000),
    ),
    (
        "constant-rate-fraction",
        ConstantRate(rate=0.5, duration_s=10),
        Plan("open", "req/s", (Stage(10, 0.5, 0.5),), 5),
    ),
    (
        "ramping-rate",
        RampingRate(stages=((10, 100), (30, 1000), (10, 0))),
        Plan(
            "open",
            "req/s",
            (Stage(10, 0, 100), Stage(30, 100, 1000), Stage(10, 1000, 0)),
            22_000,
        ),
    ),
    (
        "ramping-rate-start",
        RampingRate(stages=((10, 100), (10, 100)), start_rate=50),
        Plan("open", "req/s", (Stage(10, 50, 100), Stage(10, 100, 100)), 1750),
    ),
    (
        "users",
        Users(users=10, duration_s=60),
        Plan("closed", "users", (Stage(60, 10, 10),), None),
    ),
    (
        "ramping-users",
        RampingUsers(stages=((10, 5), (20, 5), (10, 0)), start_users=1),
        Plan("closed", "users", (Stage(10, 1, 5), Stage(20, 5, 5), Stage(10, 5, 0)), None),
    ),
]


@pytest.mark.parametrize(("config", "expected"), [p[1:] for p in PLANS], ids=[p[0] for p in PLANS])
def test_plan(config: Any, expected: Plan) -> None:
    plan = config.plan()
    assert plan == expected
    assert plan.duration_s == sum(s.duration_s for s in expected.stages)
    assert plan.model == ("open" if plan.unit == "req/s" else "closed")


VALUES: list[tuple[Any, list[tuple[float, float]]]] = [
    (ConstantRate(100, 30), [(0, 100), (15, 100), (29.999, 100), (30, 0), (31, 0), (1e9, 0)]),
    (
        RampingRate(stages=((10, 100), (30, 1000), (10, 0))),
        [
            (0, 0),
            (5, 50),
            (9.9, 99),
            (10, 100),
            (25, 550),
            (40, 1000),
            (45, 500),
            (49.5, 50),
            (50, 0),
            (60, 0),
        ],
    ),
    (RampingRate(stages=((10, 0),), start_rate=10), [(0, 10), (5, 5), (9, 1), (10, 0)]),
    (Users(7, 20), [(0, 7), (19.99, 7), (20, 0), (21, 0)]),
    (
        RampingUsers(stages=((10, 5), (20, 5), (10, 0)), start_users=1),
        [(0, 1), (5, 3), (10, 5), (29, 5), (35, 2.5), (40, 0), (400, 0)],
    ),
]


@pytest.mark.parametrize(
    ("config", "points"), VALUES, ids=[type(c).__name__ + str(i) for i, (c, _) in enumerate(VALUES)]
)
def test_plan_value_at(config: Any, points: list[tuple[float, float]]) -> None:
    plan = config.plan()
    for t, value in points:
        assert plan.value_at(t) == pytest.approx(value), t


def test_value_at_before_the_start_is_the_first_value() -> None:
    plan = RampingRate(stages=((10, 100),), start_rate=20).plan()
    assert plan.value_at(-5) == 20


def test_stage_value_at_is_clamped() -> None:
    stage = Stage(10, 2, 4)
    assert [stage.value_at(t) for t in (-1, 0, 5, 10, 11)] == [2, 2, 3, 4, 4]
    assert Stage(0, 2, 4).value_at(0) == 4


@pytest.mark.parametrize(("config", "expected"), [p[1:] for p in PLANS], ids=[p[0] for p in PLANS])
def test_plan_to_dict(config: Any, expected: Plan) -> None:
    data = config.plan().to_dict()
    assert data == {
        "model": expected.model,
        "unit": expected.unit,
        "duration_s": expected.duration_s,
        "stages": [
            {"duration_s": s.duration_s, "start": s.start, "end": s.end} for s in expected.stages
        ],
        "expected_requests": expected.expected_requests,
    }


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            ConstantRate(10, 5, max_in_flight=3, name="api"),
            {
                "type": "constant-rate",
                "name": "api",
                "rate": 10,
                "duration_s": 5,
                "max_in_flight": 3,
            },
        ),
        (
            RampingRate(((10, 5),), start_rate=1),
            {
                "type": "ramping-rate",
                "name": "ramping-rate",
                "start_rate": 1,
                "stages": [[10, 5]],
                "max_in_flight": None,
            },
        ),
        (Users(3, 9), {"type": "users", "name": "users", "users": 3, "duration_s": 9}),
        (
            RampingUsers(((10, 5), (5, 0)), start_users=2),
            {
                "type": "ramping-users",
                "name": "ramping-users",
                "start_users": 2,
                "stages": [[10, 5], [5, 0]],
            },
        ),
    ],
)
def test_config_to_dict(config: Any, expected: dict[str, Any]) -> None:
    assert config.to_dict() == expected


def test_workload_types_map_names_to_their_classes() -> None:
    expected = {
        "constant-rate": ConstantRate,
        "ramping-rate": RampingRate,
        "users": Users,
        "ramping-users": RampingUsers,
    }
    assert dict(WORKLOAD_TYPES) == expected
    for name, cls in WORKLOAD_TYPES.items():
        assert cls(**_valid(cls)).type == name


def test_configs_are_frozen() -> None:
    config = ConstantRate(10, 5)
    with pytest.raises(AttributeError):
        config.rate = 20  # type: ignore[misc]


# ---- parse_stages -------------------------------------------------------------------------------

STAGE_TEXTS: list[tuple[str, tuple[tuple[float, float], ...]]] = [
    ("10s:100,30s:1000,10s:0", ((10.0, 100.0), (30.0, 1000.0), (10.0, 0.0))),
    ("30s:100", ((30.0, 100.0),)),
    ("1m:10", ((60.0, 10.0),)),
    ("1.5m:10", ((90.0, 10.0),)),
    ("1h:1", ((3600.0, 1.0),)),
    ("250ms:4", ((0.25, 4.0),)),
    ("10:5", ((10.0, 5.0),)),  # a bare duration is in seconds
    ("10s:0.5", ((10.0, 0.5),)),
    ("1m:30000/m", ((60.0, 500.0),)),
    ("10s:7200/h", ((10.0, 2.0),)),
    ("10s:100/s", ((10.0, 100.0),)),
    (" 10s : 100 , 5s:0 ", ((10.0, 100.0), (5.0, 0.0))),
    ("10s:100,", ((10.0, 100.0),)),
    ("10s:100,,5s:0", ((10.0, 100.0), (5.0, 0.0))),
    ("0s:5", ((0.0, 5.0),)),  # parses; the workload refuses a zero duration
]


@pytest.mark.parametrize(("text", "expected"), STAGE_TEXTS)
def test_parse_stages(text: str, expected: tuple[tuple[float, float], ...]) -> None:
    assert parse_stages(text, "--stages") == expected


BAD_STAGE_TEXTS: list[tuple[str, str]] = [
    ("", r"invalid --stages '': no stages"),
    (",", r"no stages"),
    (" , ", r"no stages"),
    ("10s", r"invalid stage '10s' in --stages: use DURATION:TARGET"),
    ("10s:100,20s", r"invalid stage '20s'"),
    ("10s:", r"invalid rate ''"),
    (":100", r"invalid duration ''"),
    ("abc:1", r"invalid duration 'abc'"),
    ("10s:x", r"invalid rate 'x'"),
    ("10s:100:5", r"invalid rate '100:5'"),
    ("10s:-5", r"invalid rate '-5'"),
    ("-10s:5", r"invalid duration '-10s'"),
    ("10d:5", r"invalid duration '10d'"),
    ("10s;100", r"DURATION:TARGET"),
]


@pytest.mark.parametrize(("text", "pattern"), BAD_STAGE_TEXTS)
def test_parse_stages_errors(text: str, pattern: str) -> None:
    with pytest.raises(UsageError, match=pattern) as info:
        parse_stages(text, "--stages")
    assert "\n" not in str(info.value)


def test_parse_stages_names_where_the_text_came_from() -> None:
    with pytest.raises(UsageError, match=r"in stages of \[workload\.ramp\]"):
        parse_stages("5s", "stages of [workload.ramp]")


@pytest.mark.parametrize(
    ("text", "cls", "start"),
    [
        ("10s:100,30s:1000,10s:0", RampingRate, 0.0),
        ("5s:2,5s:2,1s:0", RampingUsers, 1),
    ],
)
def test_parsed_stages_build_a_workload(text: str, cls: type, start: float) -> None:
    stages = parse_stages(text, "--stages")
    key = "start_rate" if cls is RampingRate else "start_users"
    plan = cls(stages=stages, **{key: start}).plan()
    assert [s.end for s in plan.stages] == [target for _, target in stages]
    assert plan.stages[0].start == start


def test_fractional_users_from_stages_are_refused() -> None:
    stages = parse_stages("10s:30/m", "--stages")  # 0.5 users
    with pytest.raises(UsageError, match="whole"):
        RampingUsers(stages=stages)
