"""The workloads, one module each. ``WORKLOAD_TYPES`` maps a type name to its config class."""

from perfeng.engine.workloads.base import Plan, Stage, WorkloadConfig, parse_stages
from perfeng.engine.workloads.constant_rate import ConstantRate
from perfeng.engine.workloads.ramping_rate import RampingRate
from perfeng.engine.workloads.ramping_users import RampingUsers
from perfeng.engine.workloads.users import Users

WORKLOAD_TYPES: dict[str, type] = {
    "constant-rate": ConstantRate,
    "ramping-rate": RampingRate,
    "users": Users,
    "ramping-users": RampingUsers,
}

__all__ = [
    "WORKLOAD_TYPES",
    "ConstantRate",
    "Plan",
    "RampingRate",
    "RampingUsers",
    "Stage",
    "Users",
    "WorkloadConfig",
    "parse_stages",
]
