"""SLO specs in three formats, read into one shape (``Objective``).

- perfeng's own (TOML or YAML): Sloth's fields plus ``period`` and a ``latency`` SLI built from
  histogram buckets ("99 % of requests under 300 ms").
- Sloth ``prometheus/v1`` (https://github.com/slok/sloth, pkg/prometheus/api/v1): ``service``,
  ``labels``, ``slos[]`` with ``objective`` (percent), ``sli.events`` or ``sli.raw`` queries
  templated with ``{{.window}}``, and ``alerting`` with ``page_alert`` / ``ticket_alert``.
- OpenSLO ``kind: SLO`` (https://github.com/OpenSLO/OpenSLO): ``openslo/v1`` with an inline
  ``indicator`` whose ``ratioMetric`` has good or bad over total, and ``openslo/v1alpha`` with
  ``ratioMetrics`` inside each objective; ``target`` or ``targetPercent``; one time window.

Each format is declared once as msgspec Structs that refuse unknown fields, so a misspelt key
is named with its path. Queries must carry ``{{.window}}``, except OpenSLO counter selectors,
which are wrapped in ``sum(rate(...[{{.window}}]))`` as a counter needs.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import msgspec

WINDOW = "{{.window}}"
_WINDOW_RE = re.compile(r"\{\{\s*\.window\s*\}\}")
_SELECTOR = re.compile(r"^[A-Za-z_:][A-Za-z0-9_:]*(\{[^{}]*\})?$")
_DURATION_PART = re.compile(r"(\d+)(ms|s|m|h|d|w|M|Q|Y)")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_SECONDS.update({"M": 30 * 86400, "Q": 90 * 86400, "Y": 365 * 86400})
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class SpecError(ValueError):
    """A spec that cannot be used; the message names the file and the field."""


# ---------------------------------------------------------------- Sloth and perfeng's own


class AlertMeta(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    disable: bool = False
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}


class Alerting(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    name: str = ""
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    page_alert: AlertMeta = AlertMeta()
    ticket_alert: AlertMeta = AlertMeta()
    disable: bool = False


class Events(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    error_query: str
    total_query: str


class Raw(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    error_ratio_query: str


class Latency(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Requests slower than ``threshold`` are errors: ``metric`` is a classic histogram's
    name (without ``_bucket``) with a bucket whose ``le`` is exactly the threshold."""

    metric: str
    threshold: str
    selector: str = ""


class SlothSli(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    events: Events | None = None
    raw: Raw | None = None
    plugin: dict[str, Any] | None = None


class OwnSli(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    events: Events | None = None
    raw: Raw | None = None
    latency: Latency | None = None


class SlothSlo(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    name: str
    objective: float
    sli: SlothSli
    description: str = ""
    labels: dict[str, str] = {}
    alerting: Alerting = Alerting()


class OwnSlo(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    name: str
    objective: float
    sli: OwnSli
    description: str = ""
    labels: dict[str, str] = {}
    alerting: Alerting = Alerting()


class SlothSpec(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    version: Literal["prometheus/v1"]
    service: str
    slos: list[SlothSlo]
    labels: dict[str, str] = {}


class OwnSpec(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    service: str
    slos: list[OwnSlo]
    version: Literal["perfeng/v1"] = "perfeng/v1"
    period: str = "30d"
    labels: dict[str, str] = {}


# ---------------------------------------------------------------- OpenSLO


class MetricSource(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    spec: dict[str, Any]
    type: str = ""
    metricSourceRef: str = ""


class MetricRef(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    metricSource: MetricSource


class RatioMetric(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    total: MetricRef
    good: MetricRef | None = None
    bad: MetricRef | None = None
    counter: bool = True


class IndicatorSpec(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    ratioMetric: RatioMetric | None = None
    thresholdMetric: dict[str, Any] | None = None
    description: str = ""


class Metadata(msgspec.Struct, frozen=True):
    name: str
    displayName: str = ""
    labels: dict[str, Any] = {}
    annotations: dict[str, str] = {}


class Indicator(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    spec: IndicatorSpec
    metadata: Metadata | None = None


class TimeWindow(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    duration: str = ""
    isRolling: bool = True
    calendar: dict[str, Any] | None = None
    unit: str = ""  # v1alpha: {unit: Day, count: 30}
    count: int = 0


class QueryV1alpha(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    query: str
    source: str = "prometheus"
    queryType: str = "promql"
    metricSource: dict[str, Any] | None = None


class RatioV1alpha(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    good: QueryV1alpha
    total: QueryV1alpha
    incremental: bool = True
    counter: bool = True


class OpenSloObjective(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    target: float | None = None
    targetPercent: float | None = None
    displayName: str = ""
    op: str | None = None
    value: float | None = None
    timeSliceTarget: float | None = None
    timeSliceWindow: str | int | None = None
    ratioMetrics: RatioV1alpha | None = None


class OpenSloSpec(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    objectives: list[OpenSloObjective]
    service: str = ""
    description: str = ""
    indicator: Indicator | None = None
    indicatorRef: str | None = None
    timeWindow: list[TimeWindow] = []
    timeWindows: list[TimeWindow] = []
    budgetingMethod: str = "Occurrences"
    alertPolicies: list[Any] = []


class OpenSlo(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    apiVersion: Literal["openslo/v1", "openslo/v1alpha"]
    kind: str
    metadata: Metadata
    spec: OpenSloSpec


# ---------------------------------------------------------------- the one shape


@dataclass(frozen=True)
class Alert:
    """One of the two alerts (page, ticket) an objective gets, unless disabled."""

    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Objective:
    """One SLO, whatever format it came from. Queries hold ``{{.window}}``."""

    service: str
    name: str
    objective: float  # percent, 0 < objective < 100
    period_s: float
    description: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    error_query: str | None = None  # events SLI: bad events per second over the window
    total_query: str | None = None
    error_ratio_query: str | None = None  # raw SLI
    alert_name: str = ""
    alert_labels: dict[str, str] = field(default_factory=dict)
    alert_annotations: dict[str, str] = field(default_factory=dict)
    page: Alert | None = field(default_factory=Alert)
    ticket: Alert | None = field(default_factory=Alert)

    @property
    def budget(self) -> float:
        """The error budget as a ratio: 1 - objective."""
        return 1.0 - self.objective / 100.0

    @property
    def id(self) -> str:
        return f"{self.service}-{self.name}"


@dataclass(frozen=True)
class Spec:
    source: str  # "perfeng", "sloth" or "openslo"
    objectives: tuple[Objective, ...]


def parse_period_s(text: str, where: str = "period") -> float:
    """``30d``, ``4w``, ``1h30m``, ``1M`` (30 days); the OpenSLO and Prometheus shorthands."""
    text = str(text).strip()
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise SpecError(f"{where}: invalid duration {text!r} (use e.g. 30d, 4w, 6h, 90s)")
    seconds = sum(int(n) * _SECONDS[u] for n, u in parts)
    if seconds <= 0:
        raise SpecError(f"{where}: the duration {text!r} must be above zero")
    return float(seconds)


T = TypeVar("T")


def _convert(value: object, kind: type[T], path: str) -> T:
    try:
        return msgspec.convert(value, kind)
    except msgspec.ValidationError as exc:
        message, _, location = str(exc).partition(" - at `$")
        location = location.rstrip("`").lstrip(".")
        message = message[:1].lower() + message[1:]
        raise SpecError(f"{path}: {location + ': ' if location else ''}{message}") from None


def load_document(path: Path) -> Any:
    """The parsed YAML or TOML of a spec file (YAML when the name does not end in .toml)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"{path}: cannot read the spec: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise SpecError(f"{path}: the spec is not UTF-8 text") from None
    try:
        if path.suffix == ".toml":
            return tomllib.loads(text)
        import yaml

        return yaml.safe_load(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from None
    except Exception as exc:  # yaml.YAMLError and its subclasses
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise SpecError(f"{path}: not valid YAML{at}: {problem}") from None


def read_spec(path: Path, period_s: float | None = None) -> Spec:
    """Reads a spec file in any of the three formats; ``period_s`` overrides the spec's."""
    document = load_document(path)
    return parse_spec(document, str(path), period_s)


def parse_spec(document: object, where: str, period_s: float | None = None) -> Spec:
    if not isinstance(document, dict):
        kind = type(document).__name__ if document is not None else "empty"
        raise SpecError(f"{where}: the spec must be a mapping, not {kind}")
    if str(document.get("apiVersion", "")).startswith("openslo/"):
        return _from_openslo(_convert(document, OpenSlo, where), where, period_s)
    if document.get("version") == "prometheus/v1":
        return _from_sloth(_convert(document, SlothSpec, where), where, period_s)
    version = document.get("version")
    if version not in (None, "perfeng/v1"):
        raise SpecError(
            f"{where}: version: unknown spec version {version!r} "
            "(perfeng/v1, prometheus/v1 of Sloth, or apiVersion openslo/v1)"
        )
    return _from_own(_convert(document, OwnSpec, where), where, period_s)


def _checked(objectives: list[Objective], where: str) -> tuple[Objective, ...]:
    seen: set[str] = set()
    for index, objective in enumerate(objectives):
        at = f"{where}: slos[{index}]"
        if not _NAME.match(objective.name):
            raise SpecError(f"{at}.name: {objective.name!r} is not a usable name")
        if objective.id in seen:
            raise SpecError(f"{at}.name: duplicate SLO name {objective.name!r}")
        seen.add(objective.id)
        if not 0 < objective.objective < 100:
            raise SpecError(
                f"{at}.objective: {objective.objective:g} is outside 0-100 (a percentage)"
            )
    if not objectives:
        raise SpecError(f"{where}: slos: the spec has no SLO")
    return tuple(objectives)


def _need_window(query: str, at: str) -> str:
    if not _WINDOW_RE.search(query):
        raise SpecError(f"{at}: the query needs the {WINDOW} placeholder: {query.strip()!r}")
    return _WINDOW_RE.sub(WINDOW, query)


@dataclass(frozen=True)
class Queries:
    error: str | None = None
    total: str | None = None
    ratio: str | None = None


def _objective(
    common: dict[str, Any], queries: Queries, alerting: Alerting | None = None
) -> Objective:
    """One Objective from the fields every format has, its SLI and its alerting."""

    def one(meta: AlertMeta) -> Alert | None:
        if alerting is None:
            return Alert()
        if alerting.disable or meta.disable:
            return None
        return Alert(dict(meta.labels), dict(meta.annotations))

    given = alerting or Alerting()
    fields = dict(common)
    annotations = fields.pop("annotations", {})
    return Objective(
        **fields,
        error_query=queries.error,
        total_query=queries.total,
        error_ratio_query=queries.ratio,
        alert_name=given.name,
        alert_labels=dict(given.labels),
        alert_annotations={**annotations, **given.annotations},
        page=one(given.page_alert),
        ticket=one(given.ticket_alert),
    )


def _sli_queries(sli: SlothSli | OwnSli, at: str) -> Queries:
    chosen = [k for k in ("events", "raw", "latency", "plugin") if getattr(sli, k, None)]
    if len(chosen) != 1:
        raise SpecError(f"{at}.sli: give exactly one of events, raw or latency")
    if isinstance(sli, SlothSli) and sli.plugin is not None:
        raise SpecError(f"{at}.sli.plugin: Sloth SLI plugins are not supported; use events")
    if sli.events is not None:
        return Queries(
            error=_need_window(sli.events.error_query, f"{at}.sli.events.error_query"),
            total=_need_window(sli.events.total_query, f"{at}.sli.events.total_query"),
        )
    if sli.raw is not None:
        query = _need_window(sli.raw.error_ratio_query, f"{at}.sli.raw.error_ratio_query")
        return Queries(ratio=query)
    assert isinstance(sli, OwnSli) and sli.latency is not None
    return latency_queries(sli.latency, f"{at}.sli.latency")


def latency_queries(latency: Latency, at: str) -> Queries:
    """Bad events are the requests above the threshold: all of them minus the bucket ``le``."""
    seconds = threshold_seconds(latency.threshold, f"{at}.threshold")
    selector = latency.selector.strip().strip("{}")
    if not re.match(r"^[A-Za-z_:][A-Za-z0-9_:]*$", latency.metric):
        raise SpecError(f"{at}.metric: {latency.metric!r} is not a metric name")
    le = f'le="{format_le(seconds)}"'
    inside = f"{selector},{le}" if selector else le
    total = f"sum(rate({latency.metric}_count{{{selector}}}[{WINDOW}]))"
    good = f"sum(rate({latency.metric}_bucket{{{inside}}}[{WINDOW}]))"
    return Queries(error=f"({total} - {good})", total=total)


def threshold_seconds(text: str, at: str) -> float:
    match = re.match(r"^\s*(\d+(?:\.\d+)?)\s*(us|ms|s)\s*$", text)
    if not match:
        raise SpecError(f"{at}: invalid latency threshold {text!r} (use e.g. 300ms or 1.5s)")
    value = float(match.group(1)) * {"us": 1e-6, "ms": 1e-3, "s": 1.0}[match.group(2)]
    if value <= 0:
        raise SpecError(f"{at}: the latency threshold must be above zero")
    return value


def format_le(seconds: float) -> str:
    """A bucket bound as the Python Prometheus client writes it (``0.3``, ``1.0``)."""
    return repr(round(seconds, 9))


def _common(
    service: str, slo: SlothSlo | OwnSlo, period: float, labels: dict[str, str]
) -> dict[str, Any]:
    return {
        "service": service,
        "name": slo.name,
        "objective": slo.objective,
        "period_s": period,
        "description": slo.description,
        "labels": {**labels, **slo.labels},
    }


def _from_sloth(spec: SlothSpec, where: str, period_s: float | None) -> Spec:
    period = period_s or 30 * 86400.0
    return _from_slos("sloth", spec.service, spec.slos, spec.labels, period, where)


def _from_own(spec: OwnSpec, where: str, period_s: float | None) -> Spec:
    period = period_s or parse_period_s(spec.period, f"{where}: period")
    return _from_slos("perfeng", spec.service, spec.slos, spec.labels, period, where)


def _from_slos(
    source: str,
    service: str,
    slos: Sequence[SlothSlo | OwnSlo],
    labels: dict[str, str],
    period: float,
    where: str,
) -> Spec:
    objectives = [
        _objective(
            _common(service, slo, period, labels),
            _sli_queries(slo.sli, f"{where}: slos[{index}]"),
            slo.alerting,
        )
        for index, slo in enumerate(slos)
    ]
    return Spec(source, _checked(objectives, where))


def _from_openslo(doc: OpenSlo, where: str, period_s: float | None) -> Spec:
    if doc.kind != "SLO":
        raise SpecError(f"{where}: kind: {doc.kind!r} is not an SLO (only kind: SLO is read)")
    spec = doc.spec
    period = period_s or _openslo_period(spec, where)
    labels = {
        k: v if isinstance(v, str) else ",".join(map(str, v))
        for k, v in doc.metadata.labels.items()
    }
    objectives = []
    for index, item in enumerate(spec.objectives):
        at = f"{where}: spec.objectives[{index}]"
        name = doc.metadata.name if len(spec.objectives) == 1 else f"{doc.metadata.name}-{index}"
        common = {
            "service": spec.service or doc.metadata.name,
            "name": name,
            "objective": _openslo_target(item, at),
            "period_s": period,
            "description": spec.description,
            "labels": labels,
            "annotations": dict(doc.metadata.annotations),
        }
        objectives.append(_objective(common, _openslo_queries(doc, item, at)))
    return Spec("openslo", _checked(objectives, where))


def _openslo_period(spec: OpenSloSpec, where: str) -> float:
    windows = spec.timeWindow or spec.timeWindows
    if not windows:
        return 30 * 86400.0
    if len(windows) != 1:
        raise SpecError(f"{where}: spec.timeWindow: exactly one time window is supported")
    window = windows[0]
    if window.duration:
        return parse_period_s(window.duration, f"{where}: spec.timeWindow[0].duration")
    units = {"second": "s", "minute": "m", "hour": "h", "day": "d", "week": "w", "month": "M"}
    unit = units.get(window.unit.lower().rstrip("s"))
    if unit is None or window.count <= 0:
        raise SpecError(f"{where}: spec.timeWindows[0]: needs a duration, or unit and count")
    return parse_period_s(f"{window.count}{unit}", f"{where}: spec.timeWindows[0]")


def _openslo_target(item: OpenSloObjective, at: str) -> float:
    if (item.target is None) == (item.targetPercent is None):
        raise SpecError(f"{at}: give exactly one of target (0-1) or targetPercent (0-100)")
    if item.target is not None:
        if not 0 < item.target < 1:
            raise SpecError(f"{at}.target: {item.target:g} is outside 0-1")
        return item.target * 100
    assert item.targetPercent is not None
    return item.targetPercent


def _openslo_query(source: MetricRef, counter: bool, at: str) -> str:
    query = source.metricSource.spec.get("query")
    if not isinstance(query, str) or not query.strip():
        raise SpecError(f"{at}.metricSource.spec.query: a PromQL query is needed")
    return _windowed(query, counter, at)


def _windowed(query: str, counter: bool, at: str) -> str:
    if _WINDOW_RE.search(query):
        return _WINDOW_RE.sub(WINDOW, query)
    if counter and _SELECTOR.match(query.strip()):
        return f"sum(rate({query.strip()}[{WINDOW}]))"
    raise SpecError(
        f"{at}: the query needs the {WINDOW} placeholder (or, for a counter, to be a plain "
        f"series selector): {query.strip()!r}"
    )


def _openslo_queries(doc: OpenSlo, item: OpenSloObjective, at: str) -> Queries:
    if doc.apiVersion == "openslo/v1alpha":
        ratio = item.ratioMetrics
        if ratio is None:
            raise SpecError(f"{at}.ratioMetrics: only ratio SLIs are supported")
        good = _windowed(ratio.good.query, ratio.counter, f"{at}.ratioMetrics.good.query")
        total = _windowed(ratio.total.query, ratio.counter, f"{at}.ratioMetrics.total.query")
        return Queries(error=f"(({total}) - ({good}))", total=total)
    where = at.split(": ")[0]
    indicator = doc.spec.indicator
    if indicator is None or indicator.spec.ratioMetric is None:
        raise SpecError(
            f"{where}: spec.indicator.spec.ratioMetric: an inline ratio SLI is needed "
            "(indicatorRef and thresholdMetric are not supported)"
        )
    ratio_metric = indicator.spec.ratioMetric
    base = f"{where}: spec.indicator.spec.ratioMetric"
    if (ratio_metric.good is None) == (ratio_metric.bad is None):
        raise SpecError(f"{base}: give exactly one of good or bad")
    total = _openslo_query(ratio_metric.total, ratio_metric.counter, f"{base}.total")
    if ratio_metric.bad is not None:
        bad = _openslo_query(ratio_metric.bad, ratio_metric.counter, f"{base}.bad")
        return Queries(error=bad, total=total)
    assert ratio_metric.good is not None
    good = _openslo_query(ratio_metric.good, ratio_metric.counter, f"{base}.good")
    return Queries(error=f"(({total}) - ({good}))", total=total)
