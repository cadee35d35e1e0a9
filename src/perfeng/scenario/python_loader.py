"""Python scenarios: a ``flows.py`` file with ``async def flow(session)``.

Optional module attributes: ``BASE_URL`` (else ``--base-url``), ``THRESHOLDS`` (a list of
expressions) and ``THINK_TIME`` (as ``--think-time``). The load shape comes from the command
line (``--rate``/``--users``/``--duration``/``--stages``), defaulting to 10 users for 30 s.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from pathlib import Path
from types import ModuleType

from perfeng.engine.http.request import split_url
from perfeng.engine.workloads import Users
from perfeng.errors import ConfigError
from perfeng.scenario.model import Scenario
from perfeng.scenario.quick import LoadFlags, client_options, parse_think_time, workload_from_flags


def _import(path: Path) -> ModuleType:
    if not path.is_file():
        raise ConfigError(f"{path}: no such file")
    spec = importlib.util.spec_from_file_location(f"perfeng_flows_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"{path}: cannot be imported as Python")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent.resolve()))
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise ConfigError(f"{path}:{exc.lineno}:{exc.offset}: syntax error: {exc.msg}") from None
    except Exception as exc:  # the user's module failed at import time
        raise ConfigError(f"{path}: importing it raised {type(exc).__name__}: {exc}") from None
    finally:
        sys.path.pop(0)
    return module


def load_python_scenario(path_text: str, flags: LoadFlags, base_url: str | None) -> Scenario:
    path = Path(path_text)
    module = _import(path)
    flow = getattr(module, "flow", None)
    if flow is None or not inspect.iscoroutinefunction(flow):
        raise ConfigError(f"{path}: define `async def flow(session):` (one iteration of a user)")
    base = base_url or getattr(module, "BASE_URL", None)
    if not isinstance(base, str):
        raise ConfigError(f"{path}: set BASE_URL in the file or pass --base-url")
    split_url(base)  # validates it
    thresholds = tuple(getattr(module, "THRESHOLDS", ())) + tuple(flags.thresholds)
    think = flags.think_time or getattr(module, "THINK_TIME", None)
    workload = workload_from_flags(flags) or Users(users=10, duration_s=30.0)
    return Scenario(
        base_url=base.rstrip("/"),
        requests=(),
        workloads=(workload,),
        thresholds=thresholds,
        think_time=parse_think_time(think),
        client=client_options(flags),
        flow=flow,
        source=str(path),
    )
