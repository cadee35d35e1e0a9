"""A flame graph of a sampled profile, drawn as inline SVG for the HTML report.

Brendan Gregg's flame graph (2011; "The Flame Graph", CACM 59(6), 2016): every frame of the
sampled stacks is a box whose width is its share of the samples, the root at the bottom and
each frame's callees stacked above it. The merge and sort rules are flamegraph.pl's: stacks
with the same prefix of frames share one box per frame of that prefix, and callees are
ordered alphabetically left to right (the order of the x axis means nothing, it only lets
identical stacks merge). The frame's text, ``function (path:line)``, is what is merged, as in
py-spy's own flame graphs.

py-spy's pseudo frames for processes and threads are dropped, so stacks merge across the
worker processes of a server. Boxes narrower than ``min_fraction`` of all the samples are not
drawn (their samples still count in their caller's width). Colours are flamegraph.pl's warm
"hot" palette for the application's frames, picked from a hash of the function name (the
same function, the same colour, in every run), and a cool grey-blue for the standard library
and installed packages, so a reader finds their own code at a glance.

No script and no external reference: the tooltips are SVG ``<title>`` elements, and every
string from the target (function names, paths) and the caller (the title) is escaped.
"""

from __future__ import annotations

import html
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from perfeng.model.watch import Frame, Profile, Stack, parse_frame

ROW_PX = 16  # one stack level
FONT_PX = 11
CHAR_PX = FONT_PX * 0.6  # the advance of a monospace glyph
PAD_PX = 10  # the margin left, right and below
CAPTION_PX = 24  # the caption line above the graph
MIN_LABEL_CHARS = 3
FONT = "ui-monospace,SFMono-Regular,Menlo,Consolas,'DejaVu Sans Mono',monospace"
KINDS = ("cpu", "wall")


@dataclass
class _Node:
    """One box: a frame reached by one path of callers, and the samples through it."""

    text: str
    count: int = 0
    children: dict[str, _Node] = field(default_factory=dict)


@dataclass(frozen=True)
class _Box:
    text: str
    count: int
    depth: int  # 0 is the root row, at the bottom
    start: int  # samples to the left of the box, of the whole graph


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _count(stack: Stack, kind: str) -> int:
    return stack.cpu if kind == "cpu" else stack.wall


def _tree(profile: Profile, kind: str, stages: Iterable[int] | None) -> _Node:
    """The stacks of the kind and stages merged into one tree (flamegraph.pl's merge)."""
    wanted = None if stages is None else set(stages)
    pseudo = {i for i, text in enumerate(profile.frames) if parse_frame(text).pseudo}
    root = _Node("")
    for stack in profile.stacks:
        count = _count(stack, kind)
        if count <= 0 or (wanted is not None and stack.stage not in wanted):
            continue
        root.count += count
        node = root
        for index in stack.frames:
            if index in pseudo:
                continue
            text = profile.frames[index]
            node = node.children.setdefault(text, _Node(text))
            node.count += count
    return root


def _boxes(root: _Node, smallest: float) -> list[_Box]:
    """The boxes at least ``smallest`` samples wide, callees in alphabetical order."""
    boxes: list[_Box] = []
    pending = [(root, -1, 0)]
    while pending:
        node, depth, start = pending.pop()
        if depth >= 0:
            boxes.append(_Box(node.text, node.count, depth, start))
        offset = start
        for text in sorted(node.children):
            child = node.children[text]
            if child.count >= smallest:
                pending.append((child, depth + 1, offset))
            offset += child.count
    boxes.sort(key=lambda b: (b.depth, b.start))
    return boxes


def _colour(frame: Frame) -> str:
    """flamegraph.pl's "hot" palette by a stable hash of the function name; grey-blue for
    library frames."""
    digest = zlib.crc32(frame.function.encode("utf-8"))
    v1, v2, v3 = (((digest >> shift) & 0xFF) / 255 for shift in (0, 8, 16))
    if frame.library:
        grey = 160 + int(40 * v1)
        return f"rgb({grey - 10},{grey + 5},{min(grey + 30, 255)})"
    return f"rgb({205 + int(50 * v3)},{int(230 * v1)},{int(55 * v2)})"


def _where(frame: Frame) -> str:
    if not frame.file:
        return frame.function
    line = "" if frame.line is None else f":{frame.line}"
    return f"{frame.function} ({frame.short_file}{line})"


def _label(function: str, width: float) -> str:
    """The function name cut to what fits in the box ("" when not even three characters)."""
    fits = int((width - 6) / CHAR_PX)
    if fits < MIN_LABEL_CHARS:
        return ""
    return function if len(function) <= fits else function[: fits - 2] + ".."


def _box_svg(box: _Box, total: int, scale: float, bottom: int) -> str:
    frame = parse_frame(box.text)
    x = PAD_PX + box.start * scale
    width = box.count * scale
    y = bottom - (box.depth + 1) * ROW_PX
    tip = f"{_where(frame)} — {box.count:,} samples, {100 * box.count / total:.2f}%"
    label = _label(frame.function, width)
    text = f'<text x="{x + 3:.2f}" y="{y + ROW_PX - 4.5:.2f}">{_e(label)}</text>' if label else ""
    return (
        f"<g><title>{_e(tip)}</title>"
        f'<rect x="{x:.2f}" y="{y}" width="{width:.2f}" height="{ROW_PX - 1}" '
        f'rx="2" fill="{_colour(frame)}"/>{text}</g>'
    )


def _caption(title: str, kind: str, total: int) -> str:
    what = f"{total:,} {'CPU' if kind == 'cpu' else 'wall-clock'} samples"
    return f"{title} · {what}" if title else what


def render(
    profile: Profile,
    *,
    kind: str = "cpu",
    stages: Iterable[int] | None = None,
    title: str = "",
    width: int = 960,
    min_fraction: float = 0.002,
) -> str:
    """The flame graph of the ``kind`` samples ("cpu" or "wall") of ``stages`` (all when
    None) as one ``<svg>`` element, or "" when there are no such samples."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    root = _tree(profile, kind, stages)
    if root.count <= 0:
        return ""
    boxes = _boxes(root, max(min_fraction, 0.0) * root.count)
    rows = max((b.depth + 1 for b in boxes), default=0)
    height = CAPTION_PX + rows * ROW_PX + PAD_PX
    scale = (width - 2 * PAD_PX) / root.count
    bottom = height - PAD_PX
    body = "".join(_box_svg(b, root.count, scale, bottom) for b in boxes)
    caption = _caption(title, kind, root.count)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" style="width:100%;height:auto" role="img" aria-label="{_e(caption)}" '
        f'font-family="{_e(FONT)}" font-size="{FONT_PX}">'
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>'
        f'<text x="{PAD_PX}" y="16" font-size="12" fill="#111827">{_e(caption)}</text>'
        f"{body}</svg>"
    )
