"""The flame graph renderer: merging, widths, culling, escaping, selection, determinism."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from perfeng.model.watch import Profile, ProfileStage, Stack
from perfeng.report.flamegraph import render

SVG = "{http://www.w3.org/2000/svg}"
APP = "/srv/app/service/handlers.py"
LIB = "/usr/lib/python3.11/json/encoder.py"


def _profile(frames: list[str], stacks: list[Stack]) -> Profile:
    return Profile(
        status="ok",
        reason=None,
        hint=None,
        sampler="py-spy 0.4.0",
        rate_hz=100,
        frames=frames,
        stages=[
            ProfileStage(index=0, start_s=0, end_s=10),
            ProfileStage(index=1, start_s=10, end_s=20),
        ],
        stacks=stacks,
    )


def _boxes(svg: str) -> dict[str, tuple[float, float, float]]:
    """Tooltip text -> (x, y, width) of each drawn box."""
    root = ET.fromstring(svg)
    found: dict[str, tuple[float, float, float]] = {}
    for group in root.iter(f"{SVG}g"):
        tip = group.find(f"{SVG}title")
        rect = group.find(f"{SVG}rect")
        assert tip is not None and tip.text is not None and rect is not None
        found[tip.text] = (
            float(rect.get("x", "")),
            float(rect.get("y", "")),
            float(rect.get("width", "")),
        )
    return found


def _named(svg: str, function: str) -> list[tuple[str, tuple[float, float, float]]]:
    return [(tip, box) for tip, box in _boxes(svg).items() if tip.startswith(f"{function} (")]


# frames: 0 a, 1 b, 2 c, 3 library frame, 4 a pseudo process frame
FRAMES = [
    f"a ({APP}:10)",
    f"b ({APP}:20)",
    f"c ({APP}:30)",
    f"JSONEncoder.encode ({LIB}:200)",
    'process 4242:"python -m service"',
]


def test_identical_prefixes_merge_into_one_box_as_wide_as_both() -> None:
    profile = _profile(FRAMES, [Stack(0, [0, 1], 30, 30), Stack(0, [0, 2], 10, 10)])
    svg = render(profile, width=420, min_fraction=0)
    a = _named(svg, "a")
    b = _named(svg, "b")
    c = _named(svg, "c")
    assert len(a) == 1 and len(b) == 1 and len(c) == 1
    (a_tip, (a_x, a_y, a_w)), (_, (b_x, b_y, b_w)), (_, (c_x, c_y, c_w)) = a[0], b[0], c[0]
    assert a_w == pytest.approx(400)  # all of the 420 px less the 10 px margins
    assert b_w + c_w == pytest.approx(a_w)
    assert "40 samples, 100.00%" in a_tip
    # callees sit one row above their caller (root at the bottom), alphabetically left to right
    assert b_y == c_y == a_y - 16
    assert a_x == b_x and c_x == pytest.approx(b_x + b_w)


def test_widths_are_proportional_to_sample_counts() -> None:
    profile = _profile(FRAMES, [Stack(0, [0, 1], 75, 75), Stack(0, [0, 2], 25, 25)])
    svg = render(profile, width=820, min_fraction=0)
    (b_tip, (_, _, b_w)) = _named(svg, "b")[0]
    (c_tip, (_, _, c_w)) = _named(svg, "c")[0]
    assert b_w == pytest.approx(600) and c_w == pytest.approx(200)
    assert b_tip == "b (app/service/handlers.py:20) — 75 samples, 75.00%"
    assert c_tip == "c (app/service/handlers.py:30) — 25 samples, 25.00%"


def test_narrow_frames_are_culled_but_still_count_for_their_caller() -> None:
    profile = _profile(FRAMES, [Stack(0, [0, 1], 999, 999), Stack(0, [0, 2], 1, 1)])
    svg = render(profile, min_fraction=0.01)
    assert _named(svg, "c") == []
    (a_tip, _) = _named(svg, "a")[0]
    assert "1,000 samples, 100.00%" in a_tip
    assert len(_named(render(profile, min_fraction=0), "c")) == 1


def test_target_strings_appear_only_escaped() -> None:
    evil = "<script>alert(1)</script>"
    frames = [f"{evil} ({APP}:1)", f"x ({APP}:2)"]
    profile = _profile(frames, [Stack(0, [0, 1], 5, 5)])
    svg = render(profile, title='<b onload="x">', width=2000)
    assert "<script" not in svg and "<b " not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    assert "&lt;b onload=&quot;x&quot;&gt;" in svg
    assert any(tip.startswith(evil) for tip in _boxes(svg))  # the tooltip reads as written


def test_cpu_and_wall_counts_are_selected_by_kind() -> None:
    profile = _profile(FRAMES, [Stack(0, [0, 1], 90, 10), Stack(0, [0, 2], 10, 0)])
    cpu = render(profile, kind="cpu", min_fraction=0)
    wall = render(profile, kind="wall", min_fraction=0)
    assert "10 CPU samples" in cpu and "100 wall-clock samples" in wall
    assert _named(cpu, "c") == []  # no CPU samples in c
    assert "10 samples, 10.00%" in _named(wall, "c")[0][0]
    with pytest.raises(ValueError):
        render(profile, kind="heap")


def test_stages_limit_the_samples() -> None:
    profile = _profile(FRAMES, [Stack(0, [0, 1], 30, 30), Stack(1, [0, 2], 10, 10)])
    first = render(profile, stages=[0], min_fraction=0)
    second = render(profile, stages=iter([1]), min_fraction=0)
    assert _named(first, "c") == [] and len(_named(first, "b")) == 1
    assert _named(second, "b") == [] and len(_named(second, "c")) == 1
    assert "30 CPU samples" in first and "10 CPU samples" in second
    assert render(profile, stages=[]) == ""


def test_pseudo_frames_are_dropped_so_processes_merge() -> None:
    frames = [*FRAMES, 'process 4343:"python -m service"']
    profile = _profile(frames, [Stack(0, [4, 0, 1], 20, 20), Stack(0, [5, 0, 1], 20, 20)])
    svg = render(profile, min_fraction=0)
    assert "process" not in svg and "4242" not in svg
    boxes = _boxes(svg)
    assert len(boxes) == 2  # a and b, once each
    (a_tip, (_, a_y, _)) = _named(svg, "a")[0]
    assert "40 samples" in a_tip
    assert a_y == max(y for _, y, _ in boxes.values())  # a is the root row, at the bottom


def test_no_samples_of_the_kind_is_empty() -> None:
    assert render(_profile(FRAMES, [])) == ""
    assert render(_profile(FRAMES, [Stack(0, [0, 1], 12, 0)]), kind="cpu") == ""


def test_output_is_deterministic_xml_without_script_or_references() -> None:
    stacks = [Stack(0, [4, 0, 1, 3], 40, 30), Stack(1, [4, 0, 2], 20, 15), Stack(0, [0], 5, 5)]
    profile = _profile(FRAMES, stacks)
    svg = render(profile, title="checkout service")
    assert svg == render(profile, title="checkout service")
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox", "").startswith("0 0 960 ")
    assert root.get("width") == "100%"
    assert "<script" not in svg and "href" not in svg and "url(" not in svg
    assert "checkout service · 50 CPU samples" in svg


def test_library_frames_are_cool_and_application_frames_warm() -> None:
    profile = _profile(FRAMES, [Stack(0, [0, 3], 10, 10)])
    root = ET.fromstring(render(profile, min_fraction=0))
    fills: dict[str, tuple[int, ...]] = {}
    for group in root.iter(f"{SVG}g"):
        tip = group.find(f"{SVG}title")
        rect = group.find(f"{SVG}rect")
        assert tip is not None and tip.text is not None and rect is not None
        match = re.fullmatch(r"rgb\((\d+),(\d+),(\d+)\)", rect.get("fill", ""))
        assert match is not None
        fills[tip.text.split(" ")[0]] = tuple(int(v) for v in match.groups())
    red, _green, blue = fills["a"]
    assert red >= 205 and blue <= 55  # the hot palette
    red, _green, blue = fills["JSONEncoder.encode"]
    assert blue > red  # cool


def test_labels_are_cut_to_the_box() -> None:
    long_name = "a_rather_long_function_name_that_cannot_fit"
    frames = [f"{long_name} ({APP}:1)", f"tiny ({APP}:2)", f"x ({APP}:3)"]
    profile = _profile(frames, [Stack(0, [0, 2], 99, 99), Stack(0, [1], 1, 1)])
    root = ET.fromstring(render(profile, width=120, min_fraction=0))
    labels = [t.text or "" for t in root.iter(f"{SVG}text")][1:]  # after the caption
    assert labels == ["a_rather_lon..", "x"]  # 99 px: 14 characters; tiny (1 px): none
    assert all(len(label) <= 15 for label in labels)
