"""perfeng detect --metric: change points over the history database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import random
import re
import shlex
from pathlib import Path

import pytest

from perfeng.store import open_store
from tests.integration.cli_helpers import perfeng
from tests.store_samples import bench_document, run_document

STEP_AT = 25


def _fill(url: str, count: int = 40, scale: float = 1.0) -> None:
    """p99 steps from 100 ms to 130 ms at STEP_AT (times ``scale``); throughput drops from
    1000/s to 800/s."""
    rng = random.Random(7)
    with open_store(url) as store:
        for i in range(count):
            document = run_document(i, metadata={"git_commit": f"{i:040x}"})
            summary = document["summary"]
            slower = i >= STEP_AT
            summary["latency_ms"]["p99"] = rng.gauss(130.0 if slower else 100.0, 2.0) * scale
            summary["throughput_rps"] = rng.gauss(800.0 if slower else 1000.0, 10.0)
            store.add(document)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'history.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


def test_a_stored_regression_is_found_with_its_commit(store_url: str) -> None:
    _fill(store_url)
    done = perfeng("detect", "--metric", "total:p99", "--store", store_url, "--json")
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads(done.stdout)
    (point,) = report["change_points"]
    assert abs(point["index"] - STEP_AT) <= 1
    assert point["commit"] == f"{point['index']:040x}"  # whole in the JSON
    assert report["newest_is_regression"] is True


def test_huge_stored_values_are_analysed_without_warnings(store_url: str) -> None:
    _fill(store_url, scale=1e200)
    done = perfeng("detect", "--metric", "total:p99", "--store", store_url, "--json")
    assert done.returncode == 1 and done.stderr == ""
    (point,) = json.loads(done.stdout)["change_points"]
    assert abs(point["index"] - STEP_AT) <= 1
    assert point["mean_before"] == pytest.approx(100e200, rel=0.02)
    assert point["change_percent"] == pytest.approx(30.0, rel=0.1)


def test_throughput_is_judged_higher_is_better(store_url: str) -> None:
    _fill(store_url)
    done = perfeng("detect", "--metric", "total:throughput", "--store", store_url)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "REGRESSION" in done.stdout and "higher is better" in done.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--metric", "total"], 2, "use NAME:STAT"),
        (["--metric", "total:p98"], 2, "use NAME:STAT"),
        (["--metric", "total:p99"], 2, "need at least 6"),
        (["series.csv", "--metric", "total:p99"], 2, "not both"),
        ([], 2, "give a CSV file or --metric NAME:STAT"),
        (["--metric", "total:p99", "--store", "postgresql+psycopg://x@127.0.0.1:1/x"], 4, ""),
    ],
)
def test_bad_history_requests(tmp_path: Path, args: list[str], code: int, message: str) -> None:
    if "--store" not in args:
        empty = f"sqlite:///{tmp_path / 'empty.db'}"
        open_store(empty).close()  # an empty history, not a missing one
        args = [*args, "--store", empty]
    done = perfeng("detect", *args)
    assert done.returncode == code, done.stdout + done.stderr
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_the_documented_history_examples_run(tmp_path: Path) -> None:
    doc = (Path(__file__).parents[2] / "docs" / "detect.md").read_text()
    section = doc.split("## From the history database")[1].split("## ")[0]
    (block,) = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    url = f"sqlite:///{tmp_path / 'history.db'}"
    _fill(url)
    with open_store(url) as store:  # a benchmark history for the bench_sort example
        for i in range(12):
            store.add(bench_document(i, names=("bench_sort",), failing=()))
    for line in block.strip().splitlines():
        args = [a for a in shlex.split(line)[1:]]
        if "--store" in args:
            args[args.index("--store") + 1] = url
        else:
            args += ["--store", url]
        args = [a for a in args if a not in ("--branch", "main")]  # samples have no branch
        done = perfeng(*args)
        assert done.returncode in (0, 1), f"{line}: {done.stderr}"
        assert done.stderr == ""


def test_a_history_export_is_a_detect_series_with_commits_and_times(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'history.db'}"
    _fill(url)
    exported = perfeng("history", "export", "--stat", "p99", "--name", "total", "--store", url)
    assert exported.returncode == 0, exported.stderr
    (tmp_path / "p99.csv").write_text(exported.stdout)
    done = perfeng("detect", str(tmp_path / "p99.csv"), "--json")
    assert done.returncode == 1, done.stdout + done.stderr
    (point,) = json.loads(done.stdout)["change_points"]
    assert point["commit"] == f"{point['index']:040x}"
    assert point["time"] is not None and point["time"].startswith("20")
