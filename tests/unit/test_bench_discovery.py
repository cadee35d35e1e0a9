"""Finding benchmarks in files and folders, the @bench decorator, and preparing the call."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import perfeng
from perfeng import bench
from perfeng.bench.discovery import discover, find_files
from perfeng.bench.loader import combinations, prepare
from perfeng.errors import ConfigError, UsageError

SORTING = """
from perfeng import bench
from helpers import bench_imported   # imported: not a benchmark of this file

calls = []

def bench_plain():
    sorted(range(10))

def helper():  # neither named bench_* nor marked
    pass

def make(n, kind):
    calls.append((n, kind))
    return [n] * 3

@bench(params={"n": [1, 2], "kind": ["a", "b"]}, setup=make)
def sorts(data):
    return sorted(data)

@bench(params={"n": [5]})
def adds(n):
    return n + 1

@bench
def marked():
    return "marked"
"""


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    _write(tmp_path, "bench_sorting.py", SORTING)
    _write(tmp_path, "helpers.py", "def bench_imported():\n    pass\n")
    _write(tmp_path, "not_a_bench.py", "def bench_ignored():\n    pass\n")
    _write(tmp_path, ".hidden/bench_x.py", "def bench_hidden():\n    pass\n")
    _write(tmp_path, "sub/bench_more.py", "def bench_plain():\n    pass\n")
    return tmp_path


def test_folder_gives_bench_files_only(folder: Path) -> None:
    names = [p.relative_to(folder).as_posix() for p in find_files(folder)]
    assert names == ["bench_sorting.py", "sub/bench_more.py"]


def test_discovery_names_params_and_sources(folder: Path) -> None:
    found = discover(folder / "bench_sorting.py")
    assert [b.name for b in found] == [
        "bench_plain",
        "sorts[n=1,kind=a]",
        "sorts[n=1,kind=b]",
        "sorts[n=2,kind=a]",
        "sorts[n=2,kind=b]",
        "adds[n=5]",
        "marked",
    ]
    assert found[2].params == {"n": 1, "kind": "b"} and found[2].index == 1
    assert found[0].index is None and found[0].params == {}
    assert found[0].source.endswith("bench_sorting.py::bench_plain")


def test_same_name_in_two_files_is_qualified(folder: Path) -> None:
    names = [b.name for b in discover(folder, "plain")]
    assert len(names) == 2 and len(set(names)) == 2
    assert all(n.endswith("::bench_plain") for n in names)


def test_k_is_a_case_insensitive_substring(folder: Path) -> None:
    assert [b.name for b in discover(folder, "KIND=B")] == [
        "sorts[n=1,kind=b]",
        "sorts[n=2,kind=b]",
    ]
    with pytest.raises(UsageError, match="no benchmark name contains 'zzz'"):
        discover(folder, "zzz")


def test_missing_and_empty_paths(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        discover(tmp_path / "nope")
    with pytest.raises(UsageError, match="no bench_"):
        discover(tmp_path)
    _write(tmp_path, "bench_empty.py", "x = 1\n")
    with pytest.raises(UsageError, match="no benchmarks found"):
        discover(tmp_path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("import no_such_module_here\n", "ModuleNotFoundError: No module named"),
        ("def bench_x(:\n    pass\n", "SyntaxError: .* \\(line 1\\)"),
        ("raise SystemExit(3)\n", "SystemExit: 3"),
        (
            "from perfeng import bench\n@bench(params={'n': []})\ndef f(n): pass\n",
            "TypeError: @bench: .* non-empty list",
        ),
    ],
)
def test_import_errors_are_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, "bench_broken.py", text)
    with pytest.raises(ConfigError, match="cannot import: " + message) as caught:
        discover(path)
    assert "\n" not in str(caught.value)


def test_prepare_runs_setup_per_value_with_the_params(folder: Path) -> None:
    file = str(folder / "bench_sorting.py")
    call = prepare(file, "sorts", 3)  # n=2, kind=b
    assert call()() == [2, 2, 2]
    assert prepare(file, "adds", 0)()() == 6
    assert prepare(file, "marked", None)()() == "marked"
    with pytest.raises(ConfigError, match="no function nope"):
        prepare(file, "nope", None)


def test_setup_is_called_outside_the_call(tmp_path: Path) -> None:
    path = _write(tmp_path, "bench_setup.py", SORTING)
    call = prepare(str(path), "sorts", 0)
    from perfeng.bench.loader import load_module

    calls = load_module(str(path)).calls
    before = len(calls)
    timed = call()
    timed()
    timed()
    assert len(calls) == before + 1 and calls[-1] == (1, "a")


def test_decorator_forms_and_checks() -> None:
    def f() -> None:
        pass

    assert bench(f) is f
    assert bench(params={"n": (1, 2)})(f) is f
    assert combinations(f.__perfeng_bench__) == [{"n": 1}, {"n": 2}]  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match="non-empty list"):
        bench(params={"n": "abc"})
    with pytest.raises(TypeError, match="not an identifier"):
        bench(params={"a b": [1]})
    with pytest.raises(TypeError, match="setup must be callable"):
        bench(setup=3)  # type: ignore[arg-type]


def test_perfeng_bench_is_package_and_decorator() -> None:
    def g() -> None:
        pass

    assert perfeng.bench is bench
    assert perfeng.bench(g) is g  # the module object itself decorates
    assert callable(perfeng.bench)


def test_async_functions_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "bench_async.py", "async def bench_wait():\n    pass\n")
    with pytest.raises(ConfigError, match="bench_wait is async"):
        prepare(str(path), "bench_wait", None)


def test_the_decorator_is_reachable_as_perfeng_bench_in_a_fresh_interpreter() -> None:
    import subprocess
    import sys

    code = (
        "import perfeng\n"
        "@perfeng.bench(params={'n': [1, 2]})\n"
        "def f(n): pass\n"
        "print(type(f).__name__)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "function"
