"""The end of a measuring pytest session: the document, its table, and the comparison with
``--perfeng-compare`` by ``perfeng compare``'s logic (``perfeng.analysis.result_compare``:
the rank test and Hodges-Lehmann shift for timings, with the machine's shift between the two
runs taken out by the calibration kernels; counts for ``--perfeng-instructions``), with the
same defaults (5 % timed, 1 % counted, alpha 0.01) and the same exit codes (1 worse, 6
inconclusive)."""

from __future__ import annotations

from typing import Any

from perfeng.errors import ExitCode, PerfengError
from perfeng.pytest_plugin.session import BenchRun


def finish(run: BenchRun, interrupted: bool) -> tuple[list[str], int]:
    """The summary lines, and the exit status the run deserves by its benchmarks: 0, 1 when
    one is worse than the base (or the document could not be written), 6 when a verdict is
    inconclusive. The caller applies it when every test passed."""
    from perfeng.bench.table import render

    lines = _uncounted(run.uncounted)
    if not run.measured:
        unwritten = f": {run.settings.out} not written" if run.settings.out else ""
        return [*lines, f"no benchmark was measured{unwritten}"], ExitCode.OK
    document = run.document(interrupted)
    lines = render(document).splitlines() + lines
    status: int = ExitCode.OK
    if run.settings.out:
        try:
            from perfeng.workflows.output import write_json

            write_json(run.settings.out, document)
            lines.append(f"written: {run.settings.out}")
        except PerfengError as exc:
            lines.append(f"perfeng: {exc}")
            status = ExitCode.THRESHOLD_FAILED
    if run.settings.base is not None and not interrupted:
        compared, verdict = _compare(run, document)
        lines += compared
        status = status or verdict
    return lines, status


def _uncounted(names: list[str]) -> list[str]:
    if not names:
        return []
    return [
        "not counted (--perfeng-instructions counts marked tests without fixtures, in worker"
        " processes; these ran once): " + ", ".join(names)
    ]


def _compare(run: BenchRun, head: dict[str, Any]) -> tuple[list[str], int]:
    from perfeng.analysis.result_compare import compare_benchmarks
    from perfeng.report.comparison import render_text

    settings = run.settings
    assert settings.base is not None
    try:
        comparison = compare_benchmarks(
            settings.base, head, min_effect=settings.min_effect, alpha=settings.alpha
        )
    except (KeyError, TypeError, ValueError) as exc:
        return [f"perfeng: {settings.base_path} cannot be compared: {exc}"], 1
    if not comparison.rows and not comparison.failed_in_head:
        return [f"no benchmark in common with {settings.base_path}: nothing compared"], 0
    lines = ["", f"compared with {settings.base_path}:", *render_text(comparison).splitlines()]
    status = ExitCode.OK
    if comparison.worse:
        status = ExitCode.THRESHOLD_FAILED
    elif comparison.inconclusive:
        status = ExitCode.INCONCLUSIVE
    if status:
        why = "worse than" if comparison.worse else "inconclusive against"
        lines.append(f"perfeng: {why} {settings.base_path}: pytest exits with status {status}")
    return lines, status
