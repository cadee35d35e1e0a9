"""``perfeng`` alone: the tasks it can perform. On a terminal it asks which one and the few
questions that task needs; without a terminal it prints the list and exits 0."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Task:
    title: str
    command: str
    ready: bool


TASKS: tuple[Task, ...] = (
    Task("Run a load test", "perfeng load URL|scenario.toml|flows.py", True),
    Task(
        "Assess a service: capacity, bottleneck, verdict",
        "perfeng assess URL --slo 'p99<200ms' --target-cmd '...'",
        True,
    ),
    Task("Explain a result: ranked findings", "perfeng diagnose run.json", True),
    Task(
        "Measure a page in a browser: Web Vitals, waterfall",
        "perfeng page URL --runs 5 --threshold 'lcp<2.5s'",
        True,
    ),
    Task(
        "Find the capacity of a service under an SLO",
        "perfeng capacity find URL --slo 'p99<200ms'",
        True,
    ),
    Task("Fit a scalability model (USL, Amdahl)", "perfeng capacity fit data.csv", True),
    Task(
        "Plan servers with queueing theory",
        "perfeng capacity queue --arrival-rate 200/h --service-time 3m",
        True,
    ),
    Task("Benchmark code or commands", "perfeng bench benchmarks/ --out bench.json", True),
    Task("Compare two results (slower or not?)", "perfeng compare base.json head.json", True),
    Task("Gate a result on budgets (CI)", "perfeng gate run.json --junit gate.xml", True),
    Task("Keep results in a history database", "perfeng history add run.json", True),
    Task("Detect regressions in a history", "perfeng detect --metric total:p99", True),
    Task(
        "Profile and watch a process under load",
        "perfeng load URL --rate 200 --target-pid PID",
        True,
    ),
    Task(
        "Monitor SLOs: probes, burn-rate alerts",
        "perfeng monitor URL --slo 'availability>99.9%' --webhook URL",
        True,
    ),
    Task("Turn SLOs into Prometheus alert rules", "perfeng slo rules slo.yaml -o rules.yml", True),
    Task("Report error budgets", "perfeng slo report 'availability>99.9%' --from history", True),
    Task(
        "Build a report from a result (Markdown, JUnit)",
        "perfeng report run.json --format md",
        True,
    ),
    Task("Merge results of several generators", "perfeng merge a.json b.json -o all.json", True),
)


def task_list() -> str:
    lines = ["perfeng can:"]
    width = max(len(task.title) for task in TASKS)
    for number, task in enumerate(TASKS, 1):
        note = "" if task.ready else "  (not built yet)"
        lines.append(f"  {number:>2}. {task.title:<{width}} {task.command}{note}")
    lines.append("Run `perfeng --help` for every command and option.")
    return "\n".join(lines)


def run_menu(ask: Callable[[str], str] = input, interactive: bool | None = None) -> int:
    print(task_list())
    if interactive is None:
        interactive = sys.stdin.isatty() and sys.stdout.isatty()
    if not interactive:
        return 0
    try:
        return _choose(ask)
    except (EOFError, KeyboardInterrupt):
        print()
        return 0


def _choose(ask: Callable[[str], str]) -> int:
    answer = ask("Which task? (number, Enter to quit) ").strip()
    if not answer:
        return 0
    if not answer.isdigit() or not 1 <= int(answer) <= len(TASKS):
        print(f"perfeng: error: no task {answer!r}; pick 1 to {len(TASKS)}", file=sys.stderr)
        return 2
    task = TASKS[int(answer) - 1]
    if not task.ready:
        print(f"'{task.title}' is not built yet in this version of perfeng.")
        return 0
    if not task.title.startswith("Run a load test"):
        print(f"Run: {task.command}")
        return 0
    return _load_test(ask)


def _load_test(ask: Callable[[str], str]) -> int:
    from perfeng.cli.main import main

    url = ask("URL to test (http://...): ").strip()
    model = ask("Open model at a rate (r) or closed model with users (u)? [r] ").strip() or "r"
    argv = ["load", url]
    if model.lower().startswith("u"):
        argv += ["--users", ask("How many users? [10] ").strip() or "10"]
    else:
        argv += ["--rate", ask("Requests per second? [100] ").strip() or "100"]
    argv += ["--duration", ask("Duration? [30s] ").strip() or "30s"]
    threshold = ask("A threshold to pass, e.g. p99<200ms (Enter for none): ").strip()
    if threshold:
        argv += ["--threshold", threshold]
    print("Running: perfeng " + " ".join(argv))
    return main(argv)
