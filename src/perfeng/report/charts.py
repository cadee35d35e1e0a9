"""Charts for the HTML report, drawn with matplotlib and embedded as inline SVG.

Inline SVG keeps the report one file that works offline with no script at all. matplotlib is
imported here only, so ``perfeng --help`` and load runs never pay for it.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

Series = tuple[str, Sequence[float], Sequence[float | None]]  # label, x, y

_COLOURS = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#4b5563")


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("svg")
    matplotlib.rcParams.update(
        {
            "svg.fonttype": "none",
            "font.size": 9,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "svg.hashsalt": "perfeng",
        }
    )
    import matplotlib.pyplot as plt

    return plt


def _svg(figure: Any) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    _pyplot().close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # drop the XML prolog and doctype: it is inlined


def _plot(
    axes: Any, index: int, label: str, points: Sequence[tuple[float, float]], dashed: bool = False
) -> None:
    if points:
        axes.plot(
            [p[0] for p in points],
            [p[1] for p in points],
            label=label,
            color=_COLOURS[index % len(_COLOURS)],
            linewidth=1.4,
            linestyle="--" if dashed else "-",
        )


def _finish(
    axes: Any, title: str, xlabel: str, ylabel: str, *, legend: bool, grid_axis: str = "both"
) -> None:
    axes.set_title(title, loc="left", fontsize=10)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.grid(alpha=0.3, axis=grid_axis)
    if legend:
        axes.legend(loc="upper left", fontsize=8, frameon=False)


def lines(
    title: str,
    series: Sequence[Series],
    xlabel: str,
    ylabel: str,
    *,
    dashed: Sequence[str] = (),
    log_y: bool = False,
) -> str:
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(7.5, 2.8))
    for index, (label, xs, ys) in enumerate(series):
        points = [(x, y) for x, y in zip(xs, ys, strict=True) if y is not None]
        _plot(axes, index, label, points, dashed=label in dashed)
    if log_y:
        axes.set_yscale("log")
    _finish(axes, title, xlabel, ylabel, legend=bool(series))
    return _svg(figure)


def percentile_distribution(
    title: str, series: Sequence[tuple[str, Sequence[tuple[float, float]]]]
) -> str:
    """Latency against percentile, x on HdrHistogram's 1/(1-p) log scale up to 99.999."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(7.5, 2.8))
    for index, (label, points) in enumerate(series):
        _plot(axes, index, label, [(1 / (1 - p / 100), v) for p, v in points if p < 100])
    axes.set_xscale("log")
    ticks = [0, 90, 99, 99.9, 99.99, 99.999]
    axes.set_xticks([1 / (1 - t / 100) for t in ticks], [f"{t:g}%" for t in ticks])
    axes.set_xlim(1, 1 / (1 - 99.999 / 100))
    _finish(axes, title, "percentile", "latency (ms)", legend=True)
    return _svg(figure)


def stacked_bars(title: str, xs: Sequence[float], stacks: dict[str, Sequence[int]]) -> str:
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(7.5, 2.4))
    bottom = [0] * len(xs)
    for index, (label, counts) in enumerate(stacks.items()):
        axes.bar(
            xs,
            counts,
            bottom=bottom,
            width=0.9,
            label=label,
            color=_COLOURS[index % len(_COLOURS)],
            align="edge",
        )
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    if not stacks:
        axes.text(0.5, 0.5, "no errors", transform=axes.transAxes, ha="center", color="#16a34a")
    _finish(axes, title, "seconds", "errors", legend=bool(stacks), grid_axis="y")
    return _svg(figure)


def stacked_rows(title: str, rows: Sequence[tuple[str, dict[str, float]]], unit: str) -> str:
    """One horizontal bar per row, split into its parts (the same colour for a part in every
    row), top row first."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(7.5, 0.5 + 0.35 * max(len(rows), 1)))
    parts = list(dict.fromkeys(part for _, values in rows for part in values))
    labels = [label for label, _ in rows]
    left = [0.0] * len(rows)
    for index, part in enumerate(parts):
        widths = [values.get(part, 0.0) for _, values in rows]
        axes.barh(labels, widths, left=left, label=part, color=_COLOURS[index % len(_COLOURS)])
        left = [a + b for a, b in zip(left, widths, strict=True)]
    axes.invert_yaxis()
    axes.set_title(title, loc="left", fontsize=10, pad=22)
    axes.set_xlabel(unit)
    axes.grid(alpha=0.3, axis="x")
    axes.legend(
        loc="lower left", bbox_to_anchor=(0.0, 1.0), fontsize=8, frameon=False, ncol=len(parts) or 1
    )
    return _svg(figure)


def waterfall(
    title: str,
    rows: Sequence[tuple[str, str, float, float]],
    marks: Sequence[tuple[str, float | None]],
) -> str:
    """One bar per request (label, type, start ms, end ms), coloured by type, top first, with
    vertical lines at the page's milestones (FCP, LCP, load)."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(7.5, 0.8 + 0.22 * max(len(rows), 1)))
    kinds = list(dict.fromkeys(kind for _, kind, _, _ in rows))
    colour = {kind: _COLOURS[i % len(_COLOURS)] for i, kind in enumerate(kinds)}
    ys = list(range(len(rows)))
    for y, (_, kind, start, end) in zip(ys, rows, strict=True):
        axes.barh(y, max(end - start, 1.0), left=start, color=colour[kind], height=0.7)
    axes.set_yticks(ys, [label for label, _, _, _ in rows], fontsize=7)
    axes.invert_yaxis()
    for index, (label, at) in enumerate(m for m in marks if m[1] is not None):
        axes.axvline(at, color="#111827", linestyle=("--", ":", "-.")[index % 3], linewidth=1)
        axes.text(at, -0.8, f" {label}", fontsize=7, va="bottom")
    handles = [plt.Rectangle((0, 0), 1, 1, color=colour[k]) for k in kinds]
    axes.legend(
        handles, kinds, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False
    )
    axes.set_title(title, loc="left", fontsize=10, pad=14)
    axes.set_xlabel("ms from the navigation's start")
    axes.grid(alpha=0.3, axis="x")
    return _svg(figure)


def points_and_curves(
    title: str,
    points: Sequence[tuple[float, float]],
    curves: Sequence[Series],
    xlabel: str,
    ylabel: str,
    *,
    dashed: Sequence[str] = (),
    marker_x: float | None = None,
    marker_label: str = "",
    y_top: float | None = None,
) -> str:
    """Measured points with model curves over them (and an optional vertical marker)."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(7.5, 3.0))
    axes.scatter(
        [p[0] for p in points],
        [p[1] for p in points],
        color="#111827",
        s=18,
        label="measured",
        zorder=3,
    )
    for index, (label, xs, ys) in enumerate(curves):
        kept = [(x, y) for x, y in zip(xs, ys, strict=True) if y is not None]
        _plot(axes, index, label, kept, dashed=label in dashed)
    if marker_x is not None:
        axes.axvline(marker_x, color="#6b7280", linestyle=":", linewidth=1.2, label=marker_label)
    if y_top is not None:
        axes.set_ylim(0, y_top)
    _finish(axes, title, xlabel, ylabel, legend=True)
    return _svg(figure)


Panel = tuple[str, str, Sequence[Series], bool]  # title, y label, series, log y


def timeline(
    panels: Sequence[Panel],
    *,
    dashed: Sequence[str] = (),
    bars: str = "",
    shaded: Sequence[tuple[float, float, str]] = (),
) -> str:
    """Panels stacked over one shared time axis: what happened at the same second lines up
    (throughput, latency, errors, the target's CPU and memory). One figure with fixed margins
    is drawn once, where separate tight-cropped charts cost two draws each. ``shaded`` spans
    (start, end, label) are drawn on every panel: the fault windows."""
    plt = _pyplot()
    figure, axes_list = plt.subplots(
        len(panels), 1, figsize=(7.5, 1.55 * len(panels) + 0.5), sharex=True, squeeze=False
    )
    for axes, (title, ylabel, series, log_y) in zip(axes_list[:, 0], panels, strict=True):
        if title == bars:
            _bars(axes, series)
        else:
            for index, (label, xs, ys) in enumerate(series):
                points = [(x, y) for x, y in zip(xs, ys, strict=True) if y is not None]
                _plot(axes, index, label, points, dashed=label in dashed)
            if log_y and any(y for _, _, ys in series for y in ys if y):
                axes.set_yscale("log")
        _finish(axes, title, "", ylabel, legend=False)
        # an imported result may have no series at all: no legend then (matplotlib warns)
        if series and axes.get_legend_handles_labels()[0]:
            axes.legend(loc="upper left", fontsize=7, frameon=False, ncol=3)
        _shade(axes, shaded, label=axes is axes_list[0, 0])
    axes_list[-1, 0].set_xlabel("seconds from the start")
    figure.subplots_adjust(left=0.1, right=0.98, top=0.96, bottom=0.07, hspace=0.5)
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg")
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _shade(axes: Any, spans: Sequence[tuple[float, float, str]], *, label: bool) -> None:
    for start, end, text in spans:
        axes.axvspan(start, max(end, start + 0.05), color="#f59e0b", alpha=0.18, linewidth=0)
        if label:
            axes.text(
                start,
                1.0,
                f" {text}",
                transform=axes.get_xaxis_transform(),
                fontsize=7,
                va="top",
                color="#b45309",
            )


def _bars(axes: Any, series: Sequence[Series]) -> None:
    bottom: list[float] = []
    for index, (label, xs, ys) in enumerate(series):
        values = [float(y or 0) for y in ys]
        if not bottom:
            bottom = [0.0] * len(values)
        axes.bar(
            xs,
            values,
            bottom=bottom,
            width=0.9,
            label=label,
            align="edge",
            color=_COLOURS[index % len(_COLOURS)],
        )
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    if not series:
        axes.text(0.5, 0.5, "no errors", transform=axes.transAxes, ha="center", color="#16a34a")
