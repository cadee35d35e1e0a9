"""``perfeng detect`` in subprocesses: table, JSON, exit codes and bad input."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

PERFENG = [sys.executable, "-m", "perfeng"]


def perfeng(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PERFENG, *args], capture_output=True, text=True, timeout=60, cwd=cwd, check=False
    )


def write_series(
    path: Path,
    levels: list[tuple[int, float]],
    *,
    header: str = "commit,time,value",
    spike_at: int | None = None,
    seed: int = 1,
) -> Path:
    rng = random.Random(seed)
    values = [level + rng.gauss(0, 1.0) for n, level in levels for _ in range(n)]
    if spike_at is not None:
        values[spike_at] *= 1.5
    lines = [header]
    for i, value in enumerate(values):
        cells = {"commit": f"c{i:03d}", "git_commit": f"g{i:03d}", "time": f"t{i}"}
        cells.update({"value": f"{value:.3f}", "latency": f"{value:.3f}"})
        lines.append(",".join(cells[name] for name in header.split(",")))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_regression_in_the_newest_segment_exits_1_with_a_table(tmp_path: Path) -> None:
    csv = write_series(tmp_path / "s.csv", [(40, 100.0), (20, 110.0)], spike_at=15)
    result = perfeng("detect", str(csv))
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert "60 values of 'value'; 1 change point" in lines[0]
    header = "index commit time mean before → after change p-value"
    assert lines[1].split() == header.split()
    assert lines[2].split()[:3] == ["40", "c040", "t40"]
    assert lines[-1].startswith("newest segment from index 40 (commit c040): REGRESSION, +")


def test_an_improvement_exits_0(tmp_path: Path) -> None:
    csv = write_series(tmp_path / "s.csv", [(40, 100.0), (20, 90.0)])
    result = perfeng("detect", str(csv))
    assert result.returncode == 0, result.stderr
    assert "no regression" in result.stdout.splitlines()[-1]


def test_higher_is_better_turns_a_drop_into_a_regression(tmp_path: Path) -> None:
    csv = write_series(tmp_path / "s.csv", [(40, 100.0), (20, 90.0)])
    result = perfeng("detect", str(csv), "--higher-is-better")
    assert result.returncode == 1
    assert "REGRESSION" in result.stdout and "higher is better" in result.stdout


def test_a_flat_series_with_a_spike_has_no_change_point(tmp_path: Path) -> None:
    csv = write_series(tmp_path / "s.csv", [(60, 100.0)], spike_at=59)
    result = perfeng("detect", str(csv))
    assert result.returncode == 0
    assert result.stdout.splitlines()[-1].startswith("newest segment: no change point")


def test_json_output(tmp_path: Path) -> None:
    csv = write_series(tmp_path / "s.csv", [(30, 100.0), (30, 108.0), (30, 100.0)])
    result = perfeng("detect", str(csv), "--json", "--alpha", "0.01", "--min-magnitude", "5%")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["source"] == str(csv) and document["column"] == "value"
    assert document["values"] == 90
    assert document["options"] == {
        "alpha": 0.01,
        "window": 50,
        "min_size": 3,
        "min_magnitude": 0.05,
        "higher_is_better": False,
    }
    assert [p["index"] for p in document["change_points"]] == [30, 60]
    first = document["change_points"][0]
    assert first["commit"] == "c030" and first["time"] == "t30"
    assert first["mean_after"] > first["mean_before"]
    assert first["change_percent"] == pytest.approx(
        (first["mean_after"] / first["mean_before"] - 1) * 100
    )
    assert 0 <= first["p_value"] < 0.01
    assert document["newest_segment_start"] == 60
    assert document["newest_is_regression"] is False


def test_min_magnitude_drops_a_small_change(tmp_path: Path) -> None:
    csv = write_series(tmp_path / "s.csv", [(40, 100.0), (40, 103.0)])
    assert perfeng("detect", str(csv)).returncode == 1
    result = perfeng("detect", str(csv), "--min-magnitude", "0.05", "--json")
    assert result.returncode == 0
    assert json.loads(result.stdout)["change_points"] == []


def test_the_only_numeric_column_and_git_commit_are_used(tmp_path: Path) -> None:
    csv = write_series(tmp_path / "s.csv", [(30, 10.0), (30, 20.0)], header="git_commit,latency")
    result = perfeng("detect", str(csv), "--json")
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    assert document["column"] == "latency"
    assert document["change_points"][0]["commit"] == "g030"
    assert document["change_points"][0]["time"] is None


def test_column_option_picks_a_column(tmp_path: Path) -> None:
    csv = write_series(tmp_path / "s.csv", [(30, 10.0), (30, 20.0)], header="value,latency")
    assert perfeng("detect", str(csv), "--column", "latency").returncode == 1


BAD_OPTIONS = [
    (["--alpha", "2"], "invalid --alpha '2'"),
    (["--alpha", "x"], "invalid --alpha 'x'"),
    (["--window", "4"], "invalid --window '4'"),
    (["--window", "ten"], "invalid --window 'ten'"),
    (["--min-size", "1"], "invalid --min-size '1': must be at least 2"),
    (["--min-size", "0"], "invalid --min-size '0': must be at least 2"),
    (["--min-size", "30"], "invalid --min-size '30': needs a window of at least 60 (--window"),
    (["--window", "10", "--min-size", "6"], "invalid --window '10': must be at least 2 x"),
    (["--window", "0"], "invalid --window '0': must be at least 2 x --min-size = 6"),
    (["--min-magnitude=-5%"], "invalid --min-magnitude '-5%'"),
    (["--min-magnitude", "lots"], "invalid --min-magnitude 'lots'"),
    (["--column", "nope"], "no column 'nope' (columns: commit, time, value)"),
]


@pytest.mark.parametrize(("options", "message"), BAD_OPTIONS)
def test_bad_options_are_one_line_exit_2(tmp_path: Path, options: list[str], message: str) -> None:
    csv = write_series(tmp_path / "s.csv", [(30, 100.0)])
    result = perfeng("detect", str(csv), *options)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert result.stderr.startswith("perfeng: error: ")


BAD_FILES = [
    (None, "cannot read"),
    ("", "empty file"),
    ("value\n1\n2\n3\n4\n5\n", "5 values in 'value'; need at least 6"),
    ("value\n1\n2\nfast\n4\n5\n6\n", ":4: expected a number, got 'fast'"),
    ("value\n1\n2\nnan\n4\n5\n6\n", ":4: expected a finite number"),
    ("a,b\n1,2\n3,4\n", "no 'value' column and 2 numeric columns"),
    ("commit,name\nabc,x\n", "no 'value' column and 0 numeric columns"),
    ("1\n2\n3\n4\n5\n6\n7\n", ":1: no header line: the first line must name the columns"),
    ("3.5,-1e3\n1,2\n", ":1: no header line"),
    ("value,x,x\n" + "1,2,3\n" * 6, ":1: duplicate column 'x'"),
    ("value\n1\n2\n1_000\n4\n5\n6\n", ":4: expected a number, got '1_000'"),
    ("value\n1\n2\n\u0661\n4\n5\n6\n", ":4: expected a number, got '\u0661'"),
    ("value\n\n1\n\n2\nfast\n4\n5\n6\n", ":6: expected a number, got 'fast'"),
    ("value\n1\n2\n1e999\n4\n5\n6\n", ":4: expected a finite number"),
    ("value,commit\n1,a\n2," + "x" * 131_073 + "\n", ":3: not valid CSV: field larger than"),
]


@pytest.mark.parametrize(("content", "message"), BAD_FILES)
def test_bad_files_are_one_line_exit_2(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "s.csv"
    if content is not None:
        path.write_text(content)
    result = perfeng("detect", str(path))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert "Traceback" not in result.stderr


def test_blank_lines_are_skipped(tmp_path: Path) -> None:
    csv = write_series(tmp_path / "s.csv", [(30, 100.0), (30, 110.0)])
    lines = csv.read_text().splitlines()
    csv.write_text("\n\n".join(lines) + "\n\n")
    result = perfeng("detect", str(csv), "--json")
    assert result.returncode == 1 and result.stderr == ""
    assert json.loads(result.stdout)["values"] == 60


def test_neither_a_file_nor_a_metric_is_one_line() -> None:
    result = perfeng("detect")
    assert result.returncode == 2
    assert result.stderr == "perfeng: error: give a CSV file or --metric NAME:STAT (history)\n"


def scaled_series(path: Path, factor: float) -> Path:
    """write_series's step of +10 % at 30, every value multiplied by ``factor``."""
    write_series(path, [(30, 100.0), (30, 110.0)], header="value")
    values = [float(v) * factor for v in path.read_text().split()[1:]]
    path.write_text("value\n" + "".join(f"{v!r}\n" for v in values))
    return path


@pytest.mark.parametrize("factor", [1e200, 1.5e306, 1e-300])
def test_huge_and_tiny_values_give_the_same_points_and_no_warnings(
    tmp_path: Path, factor: float
) -> None:
    plain = perfeng("detect", str(scaled_series(tmp_path / "a.csv", 1.0)), "--json")
    scaled = perfeng("detect", str(scaled_series(tmp_path / "b.csv", factor)), "--json")
    assert scaled.stderr == "" and scaled.returncode == plain.returncode == 1
    (want,), (got,) = (json.loads(r.stdout)["change_points"] for r in (plain, scaled))
    assert got["index"] == want["index"] == 30
    assert got["mean_before"] == pytest.approx(want["mean_before"] * factor, rel=1e-9)
    assert got["change_percent"] == pytest.approx(want["change_percent"], rel=1e-9)
    assert got["p_value"] == pytest.approx(want["p_value"], rel=1e-6)


def test_values_too_far_apart_are_one_line_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("value\n" + "1\n2\n" * 10 + "1e300\n" * 10)
    result = perfeng("detect", str(path))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "too wide a range" in result.stderr
    assert result.stderr.startswith(f"perfeng: error: {path}: ")


def test_help_lists_detect() -> None:
    result = perfeng("detect", "--help")
    assert result.returncode == 0
    for text in ("--min-magnitude", "--higher-is-better", "--json", "exit codes"):
        assert text in result.stdout
