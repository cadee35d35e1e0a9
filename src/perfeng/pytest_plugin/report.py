"""The end of a measuring pytest session: the document, its table, and the comparison with
``--perfeng-compare`` by ``perfeng compare``'s logic (Mann-Whitney U and the Hodges-Lehmann
shift, ``perfeng.analysis.result_compare``), with the same defaults (5 %, alpha 0.01)."""

from __future__ import annotations

from typing import Any

from perfeng.errors import PerfengError
from perfeng.pytest_plugin.session import BenchRun


def finish(run: BenchRun, interrupted: bool) -> tuple[list[str], bool]:
    """The summary lines, and whether the run is worse than the base (or could not be
    written): the caller turns that into a failing exit status."""
    from perfeng.bench.table import render

    lines = _uncounted(run.uncounted)
    if not run.measured:
        unwritten = f": {run.settings.out} not written" if run.settings.out else ""
        return [*lines, f"no benchmark was measured{unwritten}"], False
    document = run.document(interrupted)
    lines = render(document).splitlines() + lines
    worse = False
    if run.settings.out:
        try:
            from perfeng.workflows.output import write_json

            write_json(run.settings.out, document)
            lines.append(f"written: {run.settings.out}")
        except PerfengError as exc:
            lines.append(f"perfeng: {exc}")
            worse = True
    if run.settings.base is not None and not interrupted:
        compared, slower = _compare(run, document)
        lines += compared
        worse = worse or slower
    return lines, worse


def _uncounted(names: list[str]) -> list[str]:
    if not names:
        return []
    return [
        "not counted (--perfeng-instructions counts marked tests without fixtures, in worker"
        " processes; these ran once): " + ", ".join(names)
    ]


def _compare(run: BenchRun, head: dict[str, Any]) -> tuple[list[str], bool]:
    from perfeng.analysis.result_compare import compare_benchmarks
    from perfeng.report.comparison import render_text

    settings = run.settings
    assert settings.base is not None
    try:
        comparison = compare_benchmarks(
            settings.base, head, min_effect=settings.min_effect, alpha=settings.alpha
        )
    except (KeyError, TypeError, ValueError) as exc:
        return [f"perfeng: {settings.base_path} cannot be compared: {exc}"], True
    if not comparison.rows and not comparison.failed_in_head:
        return [f"no benchmark in common with {settings.base_path}: nothing compared"], False
    lines = ["", f"compared with {settings.base_path}:", *render_text(comparison).splitlines()]
    if comparison.worse:
        lines.append(f"perfeng: worse than {settings.base_path}: pytest exits with status 1")
    return lines, comparison.worse
