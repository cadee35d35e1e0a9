"""The pytest plugin, driven by pytest's own ``pytester``: inner pytest runs of small test
files, in this process (fast) except where a run is interrupted. Every inner benchmark is
tiny and the measurement short (fast preset, 2 ms raw timings); verdicts asserted are the
ones a loaded machine cannot flip (3x more work; a 100 % minimum effect for the A/A case)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from perfeng.model.bench import check_bench_document
from tests.integration.cli_helpers import perfeng

pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True, scope="module")
def _numeric_modules_loaded_once() -> None:
    """Inner in-process runs unload the modules they imported; numpy cannot be imported twice
    in one process, so the statistics' modules are loaded here, outside every inner run."""
    import numpy  # noqa: F401
    import scipy.stats  # noqa: F401


QUICK = ["--perfeng-preset", "fast", "--perfeng-min-time", "2ms"]
# For verdicts across runs: 20 ms raw timings average over the scheduler's time slices (2 ms
# ones are either whole or preempted, so a busy machine makes them bimodal and calibration
# can stop early on a preempted timing).
STEADY = ["--perfeng-preset", "fast", "--perfeng-min-time", "20ms"]

MEASURED = """
import pytest

def work(n):
    return sorted(range(n, 0, -1))

@pytest.mark.parametrize("n", [50, 150])
def test_sort(perfeng_bench, n):
    assert perfeng_bench(work, n)[0] == 1

def test_pedantic(perfeng_bench):
    seen = []
    def setup():
        seen.append(1)
        return (40,), {}
    result = perfeng_bench.pedantic(work, setup=setup, rounds=5, warmup_rounds=2)
    assert result[0] == 1 and len(seen) == 7

def test_iterations(perfeng_bench):
    perfeng_bench.pedantic(work, args=(30,), rounds=4, iterations=25)

@pytest.mark.perfeng_bench
def test_marked_alone():
    assert work(60)[0] == 1

@pytest.mark.perfeng_bench
def test_marked_with_fixture(tmp_path):
    assert work(60)[0] == 1

def test_ordinary():
    assert work(3) == [1, 2, 3]
"""


def _document(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text())
    check_bench_document(document, str(path))
    return document


def test_off_unless_asked_each_test_runs_once(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        CALLS = []

        def test_fixture(perfeng_bench):
            assert perfeng_bench(CALLS.append, "fixture") is None
            assert perfeng_bench.enabled is False

        def test_pedantic(perfeng_bench):
            perfeng_bench.pedantic(CALLS.append, args=("pedantic",), rounds=50, iterations=9)

        @pytest.mark.perfeng_bench
        def test_marked():
            CALLS.append("marked")

        def test_once_each():
            assert CALLS == ["fixture", "pedantic", "marked"]
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)
    assert "perfeng benchmarks" not in result.stdout.str()
    assert not list(pytester.path.rglob("*.json"))  # no document written


def test_a_measuring_flag_alone_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest("--perfeng-out", "bench.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --perfeng-out needs --perfeng-bench"])


def test_measured_document_reads_in_compare_and_history(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_measured=MEASURED)
    out = pytester.path / "bench.json"
    args = [*QUICK, "--perfeng-processes", "2", "--perfeng-out", str(out)]
    result = pytester.runpytest("--perfeng-bench", *args)
    result.assert_outcomes(passed=7)
    result.stdout.fnmatch_lines(["*perfeng benchmarks*", f"written: {out}"])
    document = _document(out)
    entries = {b["name"]: b for b in document["benchmarks"]}
    assert list(entries) == [
        "test_measured.py::test_sort[50]",
        "test_measured.py::test_sort[150]",
        "test_measured.py::test_pedantic",
        "test_measured.py::test_iterations",
        "test_measured.py::test_marked_alone",
        "test_measured.py::test_marked_with_fixture",
    ]
    sort = entries["test_measured.py::test_sort[150]"]
    assert sort["params"] == {"n": 150} and sort["source"] == "test_measured.py::test_sort"
    assert len(sort["values"]) == 4 and len(sort["warmups"]) == 1  # 2 rounds x 2 values
    assert sort["loops"] > 1 and sort["isolation"] == "in-process"
    pedantic = entries["test_measured.py::test_pedantic"]
    assert (len(pedantic["values"]), len(pedantic["warmups"]), pedantic["loops"]) == (5, 2, 1)
    assert entries["test_measured.py::test_iterations"]["loops"] == 25
    assert entries["test_measured.py::test_marked_alone"]["isolation"] == "worker processes"
    assert entries["test_measured.py::test_marked_with_fixture"]["isolation"] == "in-process"
    assert document["settings"]["preset"] == "fast" and document["settings"]["runner"] == "pytest"
    assert document["metadata"]["command_line"][0] == "pytest"
    # the machine's kernels: once per in-process benchmark (5), once per worker process (2)
    assert {k: len(v) for k, v in document["calibration"].items()} == {"python": 7, "memory": 7}
    assert not document["interrupted"]

    compared = perfeng("compare", str(out), str(out), cwd=pytester.path)
    assert compared.returncode == 0, compared.stderr
    assert "test_measured.py::test_sort[150]" in compared.stdout
    store = f"sqlite:///{pytester.path / 'history.db'}"
    added = perfeng("history", "add", str(out), "--store", store, cwd=pytester.path)
    assert added.returncode == 0, added.stderr


def test_a_marked_test_a_worker_cannot_import_is_timed_in_process(
    pytester: pytest.Pytester,
) -> None:
    """pytest puts the package's parent (``tests``) on sys.path; a worker, importing the file
    alone, puts only its folder there, so ``from pkg.helper import ...`` fails in the worker."""
    package = pytester.mkdir("tests") / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "helper.py").write_text("def work():\n    return sum(range(50))\n")
    (package / "test_in_pkg.py").write_text(
        "import pytest\nfrom pkg.helper import work\n\n"
        "@pytest.mark.perfeng_bench\ndef test_work():\n    assert work() == 1225\n"
    )
    out = pytester.path / "bench.json"
    result = pytester.runpytest("--perfeng-bench", *QUICK, "--perfeng-out", str(out))
    result.assert_outcomes(passed=1)
    (entry,) = _document(out)["benchmarks"]
    assert entry["name"] == "tests/pkg/test_in_pkg.py::test_work"
    assert entry["isolation"] == "in-process" and entry["error"] is None


SIZED = """
import os

def work(n):
    return sorted(range(n, 0, -1))

def test_sort(perfeng_bench):
    perfeng_bench(work, int(os.environ["SORT_SIZE"]))
"""


def test_compare_fails_the_run_when_a_benchmark_is_slower(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Base and head are separate runs, so a load change between them shifts everything:
    10x the work is a verdict no load swing can undo; the A/A case allows +300 % (a load
    average near 6 on 2 cores slowed 20 ms timings about 3x here)."""
    pytester.makepyfile(test_sized=SIZED)
    base = pytester.path / "base.json"
    monkeypatch.setenv("SORT_SIZE", "300")
    measured = pytester.runpytest("--perfeng-bench", *STEADY, "--perfeng-out", str(base))
    measured.assert_outcomes(passed=1)

    same = pytester.runpytest(
        "--perfeng-bench", *STEADY, "--perfeng-compare", str(base), "--perfeng-min-effect", "300%"
    )
    assert same.ret == pytest.ExitCode.OK
    same.stdout.fnmatch_lines([f"compared with {base}:", "*verdict: 0 slower*"])

    monkeypatch.setenv("SORT_SIZE", "3000")  # ten times the work
    slower = pytester.runpytest("--perfeng-bench", *STEADY, "--perfeng-compare", str(base))
    slower.assert_outcomes(passed=1)  # every test passed, yet the run fails:
    assert slower.ret == pytest.ExitCode.TESTS_FAILED
    slower.stdout.fnmatch_lines(
        ["test_sized.py::test_sort *slower", "*verdict: 1 slower*", "*pytest exits with status 1"]
    )

    # A base whose calibration kernels ran 100x quicker: the machine seems 100x slower during
    # head's run. Divided by that, 10x the work looks 10x faster; undivided, 10x slower: a
    # correction larger than the effect asked about that flips the verdict is no verdict.
    quick = json.loads(base.read_text())
    quick["calibration"] = {k: [v / 100 for v in vs] for k, vs in quick["calibration"].items()}
    moved = pytester.path / "moved.json"
    moved.write_text(json.dumps(quick))
    inconclusive = pytester.runpytest(
        "--perfeng-bench", *STEADY, "--perfeng-compare", str(moved), "--perfeng-min-effect", "50%"
    )
    assert inconclusive.ret == 6  # as perfeng compare exits
    inconclusive.stdout.fnmatch_lines(["*inconclusive against*: pytest exits with status 6"])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "ERROR: *base.json: no such file"),
        ("{not json", "ERROR: *base.json: not valid JSON*"),
        ('{"format": "perfeng-run", "format_version": 1}', "ERROR: *not a benchmark result*"),
    ],
)
def test_a_bad_base_file_is_a_usage_error(
    pytester: pytest.Pytester, content: str | None, message: str
) -> None:
    pytester.makepyfile("def test_nothing():\n    pass\n")
    if content is not None:
        (pytester.path / "base.json").write_text(content)
    result = pytester.runpytest("--perfeng-bench", "--perfeng-compare", "base.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


def test_misuse_and_failures_fail_the_test_and_are_recorded(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        def test_twice(perfeng_bench):
            perfeng_bench(len, "ab")
            perfeng_bench(len, "abc")

        @pytest.mark.perfeng_bench
        def test_both(perfeng_bench):
            pass

        def test_raises(perfeng_bench):
            calls = []
            def flaky():
                calls.append(1)
                if len(calls) > 3:
                    raise RuntimeError("broke on call 4")
            perfeng_bench(flaky)
        """
    )
    out = pytester.path / "bench.json"
    result = pytester.runpytest("--perfeng-bench", *QUICK, "--perfeng-out", str(out))
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines_random(
        ["*perfeng_bench used twice in one test*", "*use one or the other*", "*broke on call 4*"]
    )
    entries = {b["name"].split("::")[1]: b for b in _document(out)["benchmarks"]}
    assert entries["test_raises"]["error"] == "RuntimeError: broke on call 4"
    assert entries["test_raises"]["values"] == []


def test_an_interrupted_run_keeps_what_was_measured(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_measured(perfeng_bench):
            perfeng_bench(sorted, range(50))

        def test_stop():
            raise KeyboardInterrupt
        """
    )
    out = pytester.path / "bench.json"
    result = pytester.runpytest_subprocess("--perfeng-bench", *QUICK, "--perfeng-out", str(out))
    assert result.ret == pytest.ExitCode.INTERRUPTED
    document = _document(out)
    assert document["interrupted"] is True
    assert [b["name"] for b in document["benchmarks"]] == [
        "test_an_interrupted_run_keeps_what_was_measured.py::test_measured"
    ]
    assert len(document["benchmarks"][0]["values"]) == 16


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--perfeng-min-time", "1ms"], "*--perfeng-min-time applies to timing*"),
        (["--perfeng-compare", "timed.json"], "*timed.json is timed: this run with*"),
    ],
)
def test_instructions_refuses_what_applies_to_timing(
    pytester: pytest.Pytester, flags: list[str], message: str
) -> None:
    pytester.makepyfile("def test_timed(perfeng_bench):\n    perfeng_bench(len, 'ab')\n")
    base = pytester.path / "timed.json"
    args = ["--perfeng-bench", *QUICK, "--perfeng-out", str(base)]
    pytester.runpytest(*args).assert_outcomes(passed=1)
    result = pytester.runpytest("--perfeng-bench", "--perfeng-instructions", *flags)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_instructions_without_valgrind_is_a_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile("def test_nothing():\n    pass\n")
    monkeypatch.setenv("PATH", str(pytester.path))  # no valgrind on it
    result = pytester.runpytest("--perfeng-bench", "--perfeng-instructions")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --perfeng-instructions needs Valgrind*"])
