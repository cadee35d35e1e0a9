"""``perfeng load scenario.toml``: read a TOML scenario file into a ``Scenario``.

Every problem becomes one ``ConfigError`` line naming the file and the table and key at fault
(``scenario.toml: unknown key 'wieght' in [[requests]] #2 ('login'); did you mean 'weight'?``),
so a user can fix the file without reading a traceback. Unknown keys are errors, not ignored:
a misspelt ``max_in_flight`` silently ignored would change what is measured.

The format is documented in docs/scenarios.md; keep the two in step.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import tomllib
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import SplitResult, urlsplit

from perfeng.engine.workloads import ConstantRate, RampingRate, RampingUsers, Users, parse_stages
from perfeng.engine.workloads.base import WorkloadConfig
from perfeng.errors import ConfigError, UsageError
from perfeng.scenario.data import load_csv
from perfeng.scenario.model import (
    Check,
    ClientOptions,
    DataSource,
    RequestSpec,
    Scenario,
    ThinkTime,
    variables_in,
)
from perfeng.scenario.patterns import pattern_of_table
from perfeng.units import parse_duration_s, parse_rate

T = TypeVar("T")

TOP_KEYS = (
    "base_url",
    "timeout",
    "connect_timeout",
    "read_timeout",
    "insecure",
    "follow_redirects",
    "max_redirects",
    "keep_alive",
    "headers",
    "thresholds",
    "data",
    "think_time",
    "requests",
    "workloads",
    "faults",
)
DATA_KEYS = ("file", "order")
THINK_TIME_KEYS = ("constant", "uniform", "pacing")
REQUEST_KEYS = ("name", "method", "path", "url", "headers", "weight", "body", "json", "check")
CHECK_KEYS = ("status", "body_contains", "json")
STAGE_KEYS = ("duration", "target")
WORKLOAD_KEYS = {
    "constant-rate": ("type", "name", "rate", "duration", "max_in_flight"),
    "ramping-rate": ("type", "name", "stages", "start_rate", "max_in_flight"),
    "users": ("type", "name", "users", "duration"),
    "ramping-users": ("type", "name", "stages", "start_users"),
    "pattern": ("type", "name", "pattern", "peak", "users", "duration", "max_in_flight"),
}
_SECTIONS = {
    "the top level": TOP_KEYS,
    "[data]": DATA_KEYS,
    "[think_time]": THINK_TIME_KEYS,
    "[[requests]]": REQUEST_KEYS,
    "[requests.check]": CHECK_KEYS,
}

# bool before int: True is an int to Python, a boolean to the user.
_TOML_TYPES: tuple[tuple[type, str], ...] = (
    (bool, "boolean"),
    (str, "string"),
    (int, "integer"),
    (float, "float"),
    (list, "array"),
    (dict, "table"),
)
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 token: methods, header names
_PLACEHOLDER_START = re.compile(r"\$\{")
_PLACEHOLDER = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")
# The path syntax Check._json_failure walks: dotted keys and [index], e.g. data.items[0].id
_JSON_PATH = re.compile(r"(?:[^.\[\]]+|\[\d+\])(?:\.[^.\[\]]+|\[\d+\])*")


def load_toml_scenario(path: str | Path) -> Scenario:
    """Read and check a scenario file; raise ``ConfigError`` (one line) on any problem."""
    path = Path(path)
    top = _Table(str(path), "", _read_toml(path))
    top.allow(TOP_KEYS)
    base_url = _base_url(top)
    data = _data(top, path.parent)
    requests = _requests(top, data)
    workloads = _workloads(top)
    return Scenario(
        base_url=base_url,
        requests=requests,
        workloads=workloads,
        thresholds=_thresholds(top),
        think_time=_think_time(top, workloads),
        data=data,
        client=_client(top),
        source=str(path),
        faults=_faults(top, path),
    )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read scenario: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: scenario is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(_toml_error(path, str(error))) from None


def _toml_error(path: Path, message: str) -> str:
    """``Invalid value (at line 3, column 9)`` -> ``scenario.toml:3:9: invalid TOML: ...``,
    the form editors and terminals turn into a link to the spot."""
    match = re.fullmatch(r"(.*) \(at line (\d+), column (\d+)\)", message)
    if match is None:
        return f"{path}: invalid TOML: {message}"
    text, line, column = match.groups()
    return f"{path}:{line}:{column}: invalid TOML: {text[:1].lower()}{text[1:]}"


def _unknown_key(key: str, at: str, allowed: Collection[str]) -> str:
    """Name the key, then suggest a near spelling or the table where the key belongs."""
    message = f"unknown key {key!r} {at}"
    close = difflib.get_close_matches(key, list(allowed), n=1)
    if close:
        return f"{message}; did you mean {close[0]!r}?"
    homes = [section for section, keys in _SECTIONS.items() if key in keys]
    kinds = [kind for kind, keys in WORKLOAD_KEYS.items() if key in keys]
    if kinds:
        homes.append(f"[[workloads]] of type {' or '.join(kinds)}")
    return f"{message}; it belongs in {' or '.join(homes)}" if homes else message


@dataclass(frozen=True)
class _Table:
    """One TOML table and where it sits in the file, so every message can point at it."""

    file: str
    where: str  # "" for the top level, else e.g. "[[requests]] #2 ('login')"
    data: dict[str, Any]

    @property
    def at(self) -> str:
        return f"in {self.where}" if self.where else "at the top level"

    def fail(self, message: str) -> ConfigError:
        return ConfigError(f"{self.file}: {self.where or 'top level'}: {message}")

    def fail_key(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.file}: {key!r} {self.at}: {message}")

    def allow(self, keys: Collection[str], hint: str = "") -> None:
        for key in self.data:
            if key not in keys:
                raise ConfigError(f"{self.file}: {_unknown_key(key, self.at, keys)}{hint}")

    def need(self, key: str, value: T | None) -> T:
        if value is None:
            raise self.fail(f"missing required key {key!r}")
        return value

    def get(self, key: str, kinds: tuple[type, ...], expected: str) -> Any:
        """The value of ``key`` if it has one of ``kinds`` (None when absent)."""
        value = self.data.get(key)
        # bool is a subclass of int in Python, but `weight = true` is a mistake in TOML.
        wrong_bool = isinstance(value, bool) and bool not in kinds
        if value is not None and (wrong_bool or not isinstance(value, kinds)):
            raise self.fail_key(key, f"expected {expected}, got {_toml_type(value)}")
        return value

    def text(self, key: str) -> str | None:
        value: str | None = self.get(key, (str,), "a string")
        return value

    def flag(self, key: str, default: bool) -> bool:
        value: bool | None = self.get(key, (bool,), "true or false")
        return default if value is None else value

    def integer(self, key: str) -> int | None:
        value: int | None = self.get(key, (int,), "a whole number")
        return value

    def number(self, key: str) -> float | None:
        value: int | float | None = self.get(key, (int, float), "a number")
        return None if value is None else float(value)

    def duration(self, key: str) -> float | None:
        text = self.get(key, (str,), 'a duration string such as "30s" or "250ms"')
        return None if text is None else self.parsed(key, parse_duration_s, text)

    def rate(self, key: str) -> float | None:
        value = self.get(key, (str, int, float), 'a rate such as "200/s" or a number per second')
        if isinstance(value, str):
            return self.parsed(key, parse_rate, value)
        return None if value is None else float(value)

    def parsed(self, key: str, parse: Callable[[str], T], text: str) -> T:
        try:
            return parse(text)
        except UsageError as error:
            raise self.fail_key(key, str(error)) from None

    def table(self, key: str, where: str) -> _Table | None:
        value: dict[str, Any] | None = self.get(key, (dict,), "a table")
        return None if value is None else _Table(self.file, where, value)

    def tables(self, key: str, where: Callable[[int, dict[str, Any]], str]) -> list[_Table]:
        """An array of tables (``[[key]]``), each told where it is (numbered from 1)."""
        value = self.get(key, (list,), f"an array of tables ([[{key}]])")
        tables = []
        for number, item in enumerate(value or [], start=1):
            if not isinstance(item, dict):
                raise self.fail_key(key, f"item {number} is not a table (got {_toml_type(item)})")
            tables.append(_Table(self.file, where(number, item), item))
        return tables


def _toml_type(value: object) -> str:
    for kind, name in _TOML_TYPES:
        if isinstance(value, kind):
            return name
    return "date/time"


# ---- top level ---------------------------------------------------------------------------


def _base_url(top: _Table) -> str:
    url = top.text("base_url")
    if url is None:
        raise top.fail("missing required key 'base_url', e.g. base_url = \"http://127.0.0.1:8080\"")
    parts = _check_url(top, "base_url", url)
    if parts.query or parts.fragment:
        raise top.fail_key("base_url", "must not have a ?query or #fragment; put it in a path")
    # A path prefix is kept (http://host/api + /users -> /api/users); a trailing slash would
    # double up with the request path's leading one.
    return url.rstrip("/")


def _check_url(table: _Table, key: str, url: str) -> SplitResult:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - reading it validates the port number
    except ValueError as error:
        raise table.fail_key(key, f"invalid URL {url!r}: {error}") from None
    if parts.scheme not in ("http", "https"):
        raise table.fail_key(key, f"URL {url!r} must start with http:// or https://")
    if not parts.hostname:
        raise table.fail_key(key, f"URL {url!r} has no host")
    if re.search(r"\s", url):
        raise table.fail_key(key, f"URL {url!r} contains whitespace; write spaces as %20")
    return parts


def _client(top: _Table) -> ClientOptions:
    default = ClientOptions()
    total = _timeout(top, "timeout", default.total_timeout_s)
    max_redirects = top.integer("max_redirects")
    if max_redirects is not None and max_redirects < 0:
        raise top.fail_key("max_redirects", "must not be negative")
    return ClientOptions(
        # As in quick mode: a short total timeout shortens the phase timeouts with it.
        connect_timeout_s=_timeout(top, "connect_timeout", min(default.connect_timeout_s, total)),
        read_timeout_s=_timeout(top, "read_timeout", min(default.read_timeout_s, total)),
        total_timeout_s=total,
        insecure=top.flag("insecure", default.insecure),
        follow_redirects=top.flag("follow_redirects", default.follow_redirects),
        max_redirects=default.max_redirects if max_redirects is None else max_redirects,
        keep_alive=top.flag("keep_alive", default.keep_alive),
    )


def _timeout(top: _Table, key: str, default: float) -> float:
    value = top.duration(key)
    if value is None:
        return default
    if value <= 0:
        raise top.fail_key(key, "must be above 0")
    return value


def _thresholds(top: _Table) -> tuple[str, ...]:
    """Kept as text: the gates module parses them and points at the column of a mistake."""
    value = top.get("thresholds", (list, str), 'an array of strings such as ["p99<200ms"]')
    items = [value] if isinstance(value, str) else value or []
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise top.fail_key("thresholds", f"{item!r} is not a threshold such as 'p99<200ms'")
    return tuple(item.strip() for item in items)


def _faults(top: _Table, path: Path) -> tuple[Any, ...]:
    """``[[faults]]``: fault, at, for (docs/faults.md); checked by perfeng.proxy.timeline."""
    from perfeng.proxy.timeline import timed_fault_of

    value = top.get("faults", (list,), "an array of tables ([[faults]])")
    faults = []
    for index, entry in enumerate(value or [], start=1):
        if not isinstance(entry, dict):
            raise top.fail_key("faults", f"entry #{index} is not a table ([[faults]])")
        try:
            faults.append(timed_fault_of(entry, f"[[faults]] #{index}"))
        except UsageError as exc:
            raise ConfigError(f"{path}: {exc}") from None
    return tuple(faults)


# ---- data and think time -----------------------------------------------------------------


def _data(top: _Table, folder: Path) -> DataSource | None:
    table = top.table("data", "[data]")
    if table is None:
        return None
    table.allow(DATA_KEYS)
    file = table.need("file", table.text("file"))
    order = table.text("order") or "cycle"
    if order not in ("cycle", "random"):
        raise table.fail_key("order", f"must be 'cycle' or 'random', got {order!r}")
    try:
        return load_csv(folder / file, order)  # an absolute `file` replaces the folder
    except ConfigError as error:
        raise table.fail_key("file", str(error)) from None


def _think_time(top: _Table, workloads: tuple[WorkloadConfig, ...]) -> ThinkTime:
    table = top.table("think_time", "[think_time]")
    if table is None:
        return ThinkTime()
    table.allow(THINK_TIME_KEYS)
    if len(table.data) != 1:
        raise table.fail('give exactly one of constant = "1s", uniform = ["0.5s", "2s"] or pacing')
    if all(w.plan().model == "open" for w in workloads):
        # The open model sends at its set rate whatever the pause; accepting it would mislead.
        raise table.fail("think time applies to users and ramping-users workloads only")
    if "uniform" in table.data:
        return _uniform(table)
    if "pacing" in table.data:
        pacing = table.need("pacing", table.duration("pacing"))
        if pacing <= 0:
            raise table.fail_key("pacing", "must be above 0")
        return ThinkTime("pacing", pacing)
    return ThinkTime("constant", table.need("constant", table.duration("constant")))


def _uniform(table: _Table) -> ThinkTime:
    value = table.get("uniform", (list,), 'two durations such as ["0.5s", "2s"]')
    if len(value) != 2 or not all(isinstance(v, str) for v in value):
        raise table.fail_key("uniform", 'expected two duration strings such as ["0.5s", "2s"]')
    low, high = (table.parsed("uniform", parse_duration_s, v) for v in value)
    if low > high:
        raise table.fail_key("uniform", f"the low end {value[0]} is above the high end {value[1]}")
    return ThinkTime("uniform", low, high)


# ---- requests ----------------------------------------------------------------------------


def _requests(top: _Table, data: DataSource | None) -> tuple[RequestSpec, ...]:
    common = _headers(top, "headers")
    tables = top.tables("requests", _request_where)
    if not tables:
        raise top.fail('no requests: add at least one [[requests]] table, e.g. path = "/"')
    requests: list[RequestSpec] = []
    seen: dict[str, str] = {}
    for table in tables:
        request = _request(table, common)
        if request.name in seen:
            raise table.fail(f"name {request.name!r} is already used by {seen[request.name]}")
        seen[request.name] = table.where
        _check_variables(table, request, data)
        requests.append(request)
    return tuple(requests)


def _request_where(number: int, item: dict[str, Any]) -> str:
    name = item.get("name")
    return f"[[requests]] #{number}" + (f" ({name!r})" if isinstance(name, str) else "")


def _request(table: _Table, common: tuple[tuple[str, str], ...]) -> RequestSpec:
    table.allow(REQUEST_KEYS)
    method = (table.text("method") or "GET").upper()
    if not _TOKEN.fullmatch(method):
        raise table.fail_key("method", f"{method!r} is not an HTTP method")
    url = _request_url(table)
    body, is_json = _body(table)
    headers = _merge_headers(common, _headers(table, "headers"))
    if is_json and not any(name.lower() == "content-type" for name, _ in headers):
        headers += (("Content-Type", "application/json"),)
    weight = table.number("weight")
    if weight is not None and not 0 < weight < math.inf:  # also refuses nan
        raise table.fail_key("weight", "must be above 0 (remove the request to leave it out)")
    return RequestSpec(
        name=table.text("name") or f"{method} {url}",
        method=method,
        url=url,
        headers=headers,
        body=body,
        weight=1.0 if weight is None else weight,
        checks=_checks(table),
    )


def _request_url(table: _Table) -> str:
    path, url = table.text("path"), table.text("url")
    if path is not None and url is not None:
        raise table.fail("give either 'path' or 'url', not both")
    if url is not None:
        _check_url(table, "url", url)
        _check_placeholders(table, "url", url)
        return url
    path = "/" if path is None else path
    if not path.startswith("/"):
        raise table.fail_key("path", f"must start with /, got {path!r}")
    if re.search(r"\s", path):
        raise table.fail_key("path", f"{path!r} contains whitespace; write spaces as %20")
    _check_placeholders(table, "path", path)
    return path


def _headers(table: _Table, key: str) -> tuple[tuple[str, str], ...]:
    value: dict[str, Any] = table.get(key, (dict,), "a table of names and values") or {}
    for name, header in value.items():
        if not _TOKEN.fullmatch(name):
            raise table.fail_key(key, f"{name!r} is not a valid header name")
        if not isinstance(header, str):
            raise table.fail_key(key, f"the value of {name!r} must be a string")
        if any(c in header for c in "\r\n\0"):
            raise table.fail_key(key, f"the value of {name!r} contains a line break")
        _check_placeholders(table, key, header)
    return tuple(value.items())


def _merge_headers(
    common: tuple[tuple[str, str], ...], own: tuple[tuple[str, str], ...]
) -> tuple[tuple[str, str], ...]:
    """The top-level headers, less those the request sets itself (names ignore case)."""
    overridden = {name.lower() for name, _ in own}
    return tuple(h for h in common if h[0].lower() not in overridden) + own


def _body(table: _Table) -> tuple[str | None, bool]:
    """The body text and whether it came from ``json``."""
    if "body" in table.data and "json" in table.data:
        raise table.fail("give either 'body' or 'json', not both")
    if "json" in table.data:
        text = _json_text(table, "json", table.data["json"])
        _check_placeholders(table, "json", text)
        return text, True
    body = table.text("body")
    if body is not None:
        _check_placeholders(table, "body", body)
    return body, False


def _json_text(table: _Table, key: str, value: object) -> str:
    # Placeholders survive json.dumps untouched, and the engine substitutes them as plain text.
    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as error:
        raise table.fail_key(key, f"cannot be written as JSON: {error}") from None


def _check_placeholders(table: _Table, key: str, text: str) -> None:
    """Every ``${`` must open a well-formed placeholder; the engine would send a typo as is."""
    for match in _PLACEHOLDER_START.finditer(text):
        if not _PLACEHOLDER.match(text, match.start()):
            snippet = text[match.start() : match.start() + 20]
            raise table.fail_key(
                key, f"malformed placeholder {snippet!r}; use ${{name}} with letters, digits, _"
            )


def _check_variables(table: _Table, request: RequestSpec, data: DataSource | None) -> None:
    parts = [request.url, request.body or "", *(value for _, value in request.headers)]
    used = sorted({name for part in parts for name in variables_in(part)})
    if not used:
        return
    if data is None:
        names = ", ".join(f"${{{name}}}" for name in used)
        raise table.fail(f"uses {names} but there is no [data] file to take values from")
    missing = [name for name in used if name not in data.columns]
    if missing:
        raise table.fail(
            f"${{{missing[0]}}} is not a column of {Path(data.path).name} "
            f"(columns: {', '.join(sorted(data.columns))})"
        )


# ---- checks ------------------------------------------------------------------------------


def _checks(request: _Table) -> tuple[Check, ...]:
    table = request.table("check", f"[requests.check] of {request.where}")
    if table is None:
        return ()
    table.allow(CHECK_KEYS)
    checks = []
    statuses = _statuses(table)
    if statuses:
        checks.append(Check("status", statuses=statuses))
    texts = table.get("body_contains", (str, list), "a string or an array of strings")
    for text in [texts] if isinstance(texts, str) else texts or []:
        if not isinstance(text, str) or not text:
            raise table.fail_key("body_contains", f"{text!r} is not a non-empty string")
        if _PLACEHOLDER_START.search(text):
            raise table.fail_key("body_contains", "checks are not templated; drop the ${...}")
        checks.append(Check("body_contains", text=text))
    expected: dict[str, Any] = table.get("json", (dict,), 'a table such as { "id" = 7 }') or {}
    for path, value in _flatten(expected, ""):
        if not _JSON_PATH.fullmatch(path):
            raise table.fail_key("json", f"{path!r} is not a path such as data.items[0].id")
        _json_text(table, "json", value)  # a date/time could never equal a JSON value
        checks.append(Check("json_path", path=path, expected=value))
    return tuple(checks)


def _statuses(table: _Table) -> frozenset[int]:
    value = table.get("status", (int, list), "a status code or an array of them")
    codes = [value] if isinstance(value, int) else value or []
    for code in codes:
        if isinstance(code, bool) or not isinstance(code, int) or not 100 <= code <= 599:
            raise table.fail_key("status", f"{code!r} is not an HTTP status code (100 to 599)")
    return frozenset(codes)


def _flatten(expected: dict[str, Any], prefix: str) -> list[tuple[str, Any]]:
    """``{data = {id = 7}}`` -> ``[("data.id", 7)]``: TOML turns a bare dotted key
    (``data.id = 7``) into nested tables, and a nested table reads naturally as "these fields
    of that object"."""
    pairs: list[tuple[str, Any]] = []
    for key, value in expected.items():
        path = f"{prefix}{key}" if not prefix or key.startswith("[") else f"{prefix}.{key}"
        if isinstance(value, dict):
            pairs.extend(_flatten(value, path))
        else:
            pairs.append((path, value))
    return pairs


# ---- workloads ---------------------------------------------------------------------------


def _workloads(top: _Table) -> tuple[WorkloadConfig, ...]:
    tables = top.tables("workloads", _workload_where)
    if not tables:
        raise top.fail(
            "at least one workload is needed: add a [[workloads]] table, e.g. "
            'type = "constant-rate", rate = "50/s", duration = "30s"'
        )
    workloads: list[WorkloadConfig] = []
    seen: dict[str, str] = {}
    for table in tables:
        workload = _workload(table, seen)
        seen[workload.name] = table.where
        workloads.append(workload)
    return tuple(workloads)


def _workload_where(number: int, item: dict[str, Any]) -> str:
    kind = item.get("type")
    return f"[[workloads]] #{number}" + (f" ({kind})" if isinstance(kind, str) else "")


def _workload(table: _Table, seen: dict[str, str]) -> WorkloadConfig:
    # A table with `pattern = "spike"` needs no type: it can only be a pattern.
    implied = "pattern" if "pattern" in table.data else None
    kind = table.need("type", table.text("type") or implied)
    if kind not in WORKLOAD_KEYS:
        close = difflib.get_close_matches(kind, list(WORKLOAD_KEYS), n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"use {', '.join(WORKLOAD_KEYS)}"
        raise table.fail_key("type", f"unknown workload type {kind!r}; {hint}")
    keys = WORKLOAD_KEYS[kind]
    table.allow(keys, hint=f" ({kind} takes {', '.join(keys)})")
    name = table.text("name")
    if name in seen:
        raise table.fail(f"name {name!r} is already used by {seen[name]}")
    if name is None:
        # Unnamed workloads are named by type, numbered when the type repeats.
        name = kind if kind not in seen else f"{kind}-{len(seen) + 1}"
    try:
        workload: WorkloadConfig = _BUILDERS[kind](table, name)
    except UsageError as error:  # the config's own checks, e.g. a rate of 0
        raise table.fail(str(error)) from None
    return workload


def _constant_rate(table: _Table, name: str) -> ConstantRate:
    return ConstantRate(
        rate=table.need("rate", table.rate("rate")),
        duration_s=table.need("duration", table.duration("duration")),
        max_in_flight=table.integer("max_in_flight"),
        name=name,
    )


def _ramping_rate(table: _Table, name: str) -> RampingRate:
    return RampingRate(
        stages=_stages(table, _Table.rate),
        start_rate=table.rate("start_rate") or 0.0,
        max_in_flight=table.integer("max_in_flight"),
        name=name,
    )


def _users(table: _Table, name: str) -> Users:
    return Users(
        users=table.need("users", table.integer("users")),
        duration_s=table.need("duration", table.duration("duration")),
        name=name,
    )


def _ramping_users(table: _Table, name: str) -> RampingUsers:
    return RampingUsers(
        stages=_stages(table, _Table.integer),
        start_users=table.integer("start_users") or 0,
        name=name,
    )


# Typed Any for now: the frozen configs have read-only `name`/`type`, which mypy will not
# match to WorkloadConfig's plain attributes until the protocol declares them as properties.
_BUILDERS: dict[str, Callable[[_Table, str], Any]] = {
    "constant-rate": _constant_rate,
    "ramping-rate": _ramping_rate,
    "users": _users,
    "ramping-users": _ramping_users,
    "pattern": lambda table, name: pattern_of_table(table, name),
}


def _stages(
    table: _Table, target: Callable[[_Table, str], float | None]
) -> tuple[tuple[float, float], ...]:
    """``stages = "10s:100,30s:1000"`` or an array of ``{ duration, target }`` tables."""
    value = table.get("stages", (str, list), 'a string such as "10s:100,30s:1000" or an array')
    if value is None:
        raise table.fail("missing required key 'stages'")
    if isinstance(value, str):
        return table.parsed("stages", lambda text: parse_stages(text, "stages"), value)
    stages = []
    for stage in table.tables("stages", lambda n, _: f"{table.where} stage {n}"):
        stage.allow(STAGE_KEYS)
        duration = stage.need("duration", stage.duration("duration"))
        stages.append((duration, float(stage.need("target", target(stage, "target")))))
    return tuple(stages)
