"""Findings as text: the terminal, Markdown and ``perfeng diagnose`` share these lines.
Renders only; the findings were computed by ``analysis.diagnose``."""

from __future__ import annotations

from typing import Any

MARKS = {"critical": "CRITICAL", "warning": "WARNING", "info": "info"}


def where_text(where: dict[str, Any]) -> str:
    place = where["file"] + (f":{where['line']}" if where.get("line") else "")
    if where["kind"] == "waiting":
        code = f" `{where['code']}`" if where.get("code") else ""
        return f"{where['function']} ({place}){code}: {where['own_share']:.0%} of the waiting"
    return (
        f"{where['function']} ({place}): {where['own_share']:.0%} own, "
        f"{where['total_share']:.0%} total of the CPU samples"
    )


def finding_lines(finding: dict[str, Any], number: int) -> list[str]:
    certainty = " (less certain)" if finding.get("certainty") == "low" else ""
    lines = [f"{number}. {MARKS[finding['severity']]}  {finding['title']}{certainty}"]
    lines += [f"   - {item}" for item in finding["evidence"]]
    for where in finding.get("where", [])[:3]:
        lines.append(f"   where: {where_text(where)}")
    lines.append(f"   next: {finding['next_step']}")
    return lines


def text(findings: list[dict[str, Any]]) -> str:
    if not findings:
        return ""
    lines = ["Findings, highest impact first:"]
    for number, finding in enumerate(findings, 1):
        lines += finding_lines(finding, number)
    return "\n".join(lines)


def markdown(findings: list[dict[str, Any]], cell: Any) -> list[str]:
    """Markdown lines; ``cell`` escapes text from users or targets."""
    if not findings:
        return []
    lines = ["", "### Findings", ""]
    for number, finding in enumerate(findings, 1):
        certainty = " _(less certain)_" if finding.get("certainty") == "low" else ""
        lines.append(
            f"{number}. **{MARKS[finding['severity']]}** {cell(finding['title'])}{certainty}"
        )
        lines += [f"   - {cell(item)}" for item in finding["evidence"]]
        lines += [f"   - where: {cell(where_text(w))}" for w in finding.get("where", [])[:3]]
        lines.append(f"   - **next:** {cell(finding['next_step'])}")
    return lines
