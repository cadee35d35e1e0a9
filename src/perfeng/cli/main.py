"""``perfeng``: argument parsing and dispatch. Heavy modules load inside the commands."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from perfeng import __version__
from perfeng.errors import ExitCode, PerfengError, exit_code_help

DESCRIPTION = """\
perfeng: a performance engineer's toolkit. Measure a service under load (open and closed
models, latency free of coordinated omission), gate it with thresholds, and keep the results.
Run `perfeng` alone on a terminal for a menu of tasks."""

EPILOG = f"""\
exit codes:
{exit_code_help()}

examples:
  perfeng load http://127.0.0.1:8080/ --rate 500 --duration 30s --threshold 'p99<200ms'
  perfeng load http://127.0.0.1:8080/ --users 50 --duration 1m --out run.json
  perfeng load scenario.toml --out run.json
  perfeng merge a.json b.json -o all.json
"""

Handler = Callable[[argparse.Namespace], int]


def _add_load(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "load",
        help="run a load test against a URL, a TOML scenario or a Python flows file",
        description="Run a load test. TARGET is a URL (quick mode), a .toml scenario or a .py "
        "file of async flows.",
        epilog=f"exit codes:\n{exit_code_help()}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("target", help="URL, scenario.toml or flows.py")
    p.add_argument("-X", "--method", default=None, help="HTTP method (quick mode; default GET)")
    p.add_argument(
        "-H",
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="request header (repeatable)",
    )
    p.add_argument("--body", help="request body: TEXT, or @file to read it from a file")
    model = p.add_mutually_exclusive_group()
    model.add_argument("--rate", help="open model: arrivals per second (500, 500/s, 30000/m)")
    model.add_argument("--users", help="closed model: number of virtual users")
    p.add_argument("--duration", help="how long to run (ms/s/m/h; default 30s)")
    p.add_argument(
        "--stages",
        help="ramp stages DURATION:TARGET,... (rates with --rate or "
        "alone, users with --users), e.g. 10s:100,30s:1000,10s:0",
    )
    p.add_argument(
        "--pattern",
        choices=("smoke", "load", "stress", "spike", "soak", "breakpoint"),
        help="a load pattern (k6's test types) expanded into stages; see docs/patterns.md",
    )
    p.add_argument(
        "--peak",
        help="the pattern's peak arrival rate (open model, e.g. 500/s); "
        "with --users N the peak is N users (closed model)",
    )
    p.add_argument(
        "--threshold",
        action="append",
        default=[],
        metavar="EXPR",
        help="pass/fail gate, e.g. 'p99<200ms', 'error_rate<1%%', "
        "'error_rate<5%%:abort' (repeatable)",
    )
    p.add_argument("--timeout", help="total timeout per request (default 10s)")
    p.add_argument("--connect-timeout", help="connect timeout (default: --timeout)")
    p.add_argument("--read-timeout", help="timeout while no bytes arrive (default: --timeout)")
    p.add_argument("--insecure", action="store_true", help="do not verify TLS certificates")
    p.add_argument("--follow-redirects", action="store_true", help="follow 3xx redirects")
    p.add_argument(
        "--max-in-flight",
        help="open model: arrivals beyond this many requests in "
        "flight are dropped (default: 2 s of the peak rate)",
    )
    p.add_argument(
        "--grace", default="5s", help="time for in-flight requests at the end (default 5s)"
    )
    p.add_argument(
        "--think-time",
        help="closed model: pause between iterations: 1s, 0.5s-2s (uniform) or pace:3s",
    )
    _add_fault_flags(p)
    p.add_argument("--base-url", help="base URL for a flows.py file without BASE_URL")
    p.add_argument("--out", help="write the result document (JSON) to this file")
    p.add_argument("--dry-run", action="store_true", help="print the plan and exit")
    p.add_argument("--quiet", action="store_true", help="no progress and no summary")
    p.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    p.add_argument("--seed", type=int, help="random seed (request mix, data rows)")
    _add_save_flags(p)
    add_watch_flags(p)
    p.add_argument(
        "--workers",
        metavar="N|auto",
        help="run N generator processes, each with its share of the plan (auto: one per CPU); "
        "the result is their exact merge",
    )
    p.add_argument(
        "--cluster",
        metavar="tcp://HOST:PORT",
        help="run a shard of the plan on every worker of this Dask cluster (pip install "
        "'perfeng[cluster]'); the result is their exact merge",
    )
    # a worker's own flags, set by the parent of --workers
    p.add_argument("--shard", help=argparse.SUPPRESS)
    p.add_argument("--start-at", help=argparse.SUPPRESS)
    p.add_argument("--progress-lines", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(handler="perfeng.cli.load:run")


def _add_fault_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("faults (a proxy in front of the target; docs/faults.md)")
    g.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="e.g. 'latency=200ms,jitter=50ms@25%%', 'reset@10%%', 'down' (repeatable: all "
        "share the one window --fault-at/--fault-for)",
    )
    g.add_argument("--fault-at", metavar="DURATION", help="when the faults start (default 0s)")
    g.add_argument(
        "--fault-for", metavar="DURATION", help="how long they last (default: to the end)"
    )


def add_watch_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(
        "watching the target (resources each second, a py-spy profile, ranked findings)"
    )
    g.add_argument(
        "--target-pid",
        type=int,
        action="append",
        default=[],
        metavar="PID",
        help="watch this running process and its children (repeatable)",
    )
    g.add_argument(
        "--target-cmd",
        metavar="COMMAND",
        help="start the service with this command (no shell), wait until the URL's port "
        "accepts connections, watch it, stop it afterwards",
    )
    g.add_argument("--target-shell", action="store_true", help="run --target-cmd through /bin/sh")
    g.add_argument(
        "--target-timeout",
        metavar="DURATION",
        help="how long --target-cmd may take to open its port (default 30s)",
    )
    g.add_argument(
        "--profile",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="profile the watched Python processes with py-spy (default: on when watching)",
    )
    g.add_argument(
        "--profile-rate",
        type=int,
        default=100,
        metavar="HZ",
        help="py-spy samples per second (default 100)",
    )


def _add_save_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--save", action="store_true", help="append the result to the history database")
    p.add_argument(
        "--store", metavar="URL", help="with --save: history database URL (default: $PERFENG_STORE)"
    )
    p.add_argument(
        "--tag",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="with --save: a label stored with the result (repeatable)",
    )


def _add_import(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "import",
        help="turn k6, Locust, JMeter, wrk or hey results into a perfeng result document",
        description="Read another tool's results (k6 --out json or summary JSON, Locust --csv, "
        "JMeter JTL, wrk/wrk2 --latency text, hey text or -o csv) and write a perfeng result "
        "that report, compare, gate, history and detect read. What the source could not give "
        "is listed in the document's notes. See docs/import.md.",
        epilog=f"exit codes:\n{exit_code_help()}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", help="the tool's output file (Locust: any of the --csv files)")
    p.add_argument(
        "--from",
        dest="source",
        choices=["auto", "k6", "locust", "jmeter", "wrk", "hey"],
        default="auto",
        help="the tool that wrote FILE (default auto: sniffed from its content)",
    )
    p.add_argument("-o", "--out", required=True, help="where to write the result document")
    p.set_defaults(handler="perfeng.cli.import_:run")


def _add_merge(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("merge", help="merge run results exactly (histograms and counters add)")
    p.add_argument("inputs", nargs="+", help="result documents (run.json)")
    p.add_argument("-o", "--out", required=True, help="where to write the merged result")
    p.add_argument(
        "--threshold",
        action="append",
        default=[],
        metavar="EXPR",
        help="evaluate these thresholds on the merged result",
    )
    p.set_defaults(handler="perfeng.cli.merge:run")


def _add_demo(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "demo",
        help="assess the embedded demo service (about 60 s; --quick about 20 s) and write "
        "run.json and report.html; `perfeng demo serve` runs the service alone",
    )
    p.add_argument("action", nargs="?", choices=["serve"], help="serve: run the demo service")
    p.add_argument("--port", type=int, default=0, help="serve: port on 127.0.0.1 (default: any)")
    p.add_argument("--quick", action="store_true", help="a 20 s assessment instead of 60 s")
    p.add_argument("--duration", help="how long to run (default 60s, --quick 20s)")
    p.add_argument(
        "--out",
        default="perfeng-report",
        help="folder for run.json and report.html (default perfeng-report)",
    )
    p.set_defaults(handler="perfeng.cli.demo:run")


def _add_report(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "report", help="render a result: HTML report (two results: compared), Markdown or JUnit"
    )
    p.add_argument("inputs", nargs="+", help="a result (run.json), or base.json head.json")
    p.add_argument(
        "--format",
        choices=["html", "md", "junit"],
        default="html",
        help="md: a summary for pull requests; junit: threshold verdicts for CI",
    )
    p.add_argument(
        "-o",
        "--output",
        help="where to write (HTML default: report.html; md and junit default: standard output)",
    )
    p.set_defaults(handler="perfeng.cli.report:run")


def _add_capacity(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("capacity", help="capacity planning: scalability fits and queueing models")
    commands = p.add_subparsers(dest="capacity_command", metavar="COMMAND", required=True)
    q = commands.add_parser(
        "queue",
        help="M/M/c with Erlang C: waits, service level, fewest servers",
        description="Size a service as an M/M/c queue (Erlang C). Without --servers it finds "
        "the fewest servers meeting --service-level at --wait-target (default 80%% "
        "within 20 s) or --max-utilisation.",
    )
    q.add_argument("--arrival-rate", required=True, help="arrivals, e.g. 200/h, 50/s, 3000/m")
    q.add_argument("--service-time", required=True, help="mean service time, e.g. 3m, 120ms")
    q.add_argument("--servers", help="number of servers (omit to find the fewest)")
    q.add_argument("--wait-target", help="the wait the service level is measured at, e.g. 20s")
    q.add_argument(
        "--service-level", help="wanted share waiting at most --wait-target: 0.8 or 80%%"
    )
    q.add_argument("--max-utilisation", help="cap on utilisation when finding servers: 0.7 or 70%%")
    q.add_argument("--json", action="store_true", help="print the figures as JSON")
    f = commands.add_parser("fit", help="fit the Universal Scalability Law (and Amdahl)")
    f.add_argument("data", help="CSV with the header concurrency,throughput")
    f.add_argument(
        "--method",
        choices=["least-squares", "gunther"],
        default="least-squares",
        help="least-squares (the R usl package) or Gunther's normalised quadratic",
    )
    f.add_argument("--json", action="store_true", help="print the coefficients as JSON")
    f.add_argument(
        "--chart",
        metavar="HTML",
        help="also write a chart: points, USL, Amdahl, linear scaling, N*",
    )
    d = commands.add_parser(
        "find", help="the highest arrival rate that meets the SLOs (steps of the open model)"
    )
    d.add_argument("target", help="URL or scenario.toml")
    d.add_argument(
        "--slo",
        action="append",
        default=[],
        metavar="EXPR",
        help="a threshold every step must meet, e.g. 'p99<200ms' (repeatable)",
    )
    d.add_argument("--start", default="50", help="first rate (default 50/s)")
    d.add_argument("--max", default="100000", help="highest rate to try (default 100000/s)")
    d.add_argument("--step-duration", default="20s", help="length of each step (default 20s)")
    d.add_argument("--resolution", default="5%", help="stop bisecting within this (default 5%%)")
    d.add_argument("--timeout", help="total timeout per request (default 10s)")
    d.add_argument("--out", help="write the capacity result (JSON) here")
    add_watch_flags(d)
    n = commands.add_parser("plan", help="instances needed for a target rate")
    n.add_argument("capacity", help="a result of capacity find (capacity.json)")
    n.add_argument("--target-rate", required=True, help="the rate to serve, e.g. 5000/s")
    n.add_argument(
        "--slo",
        action="append",
        default=[],
        metavar="EXPR",
        help="the SLOs the plan is for (checked against the measured ones)",
    )
    n.add_argument("--headroom", help="spare capacity on top, e.g. 30%%")
    n.add_argument(
        "--scale-out",
        metavar="CSV",
        help="measured instances,throughput points: fit the USL across instances",
    )
    n.add_argument("--json", action="store_true", help="print the plan as JSON")
    p.set_defaults(handler="perfeng.cli.capacity:run")


def _add_assess(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "assess",
        help="the whole job: unloaded baseline, capacity under the SLO, a watched and profiled "
        "run at the limit, ranked findings and a verdict",
        description="Assess a service within a time budget: an unloaded baseline, capacity "
        "find under the SLOs, a diagnosis run (resources and a py-spy profile when the target "
        "is watched), a USL fit and the findings. Writes DIR/assessment.json and "
        "DIR/report.html. See docs/diagnose.md.",
        epilog=f"exit codes:\n{exit_code_help()}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("target", help="URL or scenario.toml")
    p.add_argument(
        "--slo",
        action="append",
        default=[],
        metavar="EXPR",
        help="what the service must meet, e.g. 'p99<200ms' (repeatable)",
    )
    p.add_argument("--budget", default="5m", help="the time to spend in all (default 5m)")
    p.add_argument("--start", default="10", help="first capacity step (default 10/s)")
    p.add_argument("--max", default="100000", help="highest rate to try (default 100000/s)")
    p.add_argument("--resolution", default="10%", help="capacity resolution (default 10%%)")
    p.add_argument("--timeout", help="total timeout per request (default 10s)")
    p.add_argument(
        "--out", default="perfeng-assessment", help="folder for assessment.json and report.html"
    )
    p.add_argument("--quiet", action="store_true", help="no progress and no summary")
    add_watch_flags(p)
    p.set_defaults(handler="perfeng.cli.assess:run")


def _add_proxy(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "proxy",
        help="a fault-injecting TCP proxy: latency, bandwidth, timeout, reset, down, ...",
        description="Forward --listen to --upstream, adding faults (--fault, or through the "
        "control API). Prints its addresses, runs until SIGINT/SIGTERM. See docs/faults.md.",
        epilog=f"exit codes:\n{exit_code_help()}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--upstream", required=True, metavar="HOST:PORT", help="the service")
    p.add_argument(
        "--listen", default="127.0.0.1:0", metavar="HOST:PORT", help="default 127.0.0.1:0"
    )
    p.add_argument(
        "--control", metavar="HOST:PORT", help="serve the HTTP JSON control API here (loopback)"
    )
    p.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="a fault from the start, e.g. 'latency=200ms,jitter=50ms@25%%' (repeatable)",
    )
    p.add_argument("--seed", type=int, help="random seed (which connections a share touches)")
    p.set_defaults(handler="perfeng.cli.proxy:run")


def _add_page(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "page",
        help="load a page in headless Chromium: Web Vitals, waterfall, budgets, findings",
        description="Load URL several times in headless Chromium (a fresh profile each time) "
        "and measure TTFB, FCP, LCP, CLS, TBT, the resources and their waterfall; judge the "
        "median run against thresholds and a Lighthouse budget.json. See docs/page.md.",
        epilog=f"exit codes:\n{exit_code_help()}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("url", help="the page: http://, https:// or file://")
    p.add_argument("--runs", type=int, default=5, help="page loads (default 5; median run)")
    p.add_argument(
        "--throttle",
        default="none",
        help="network: none, fast-3g, slow-4g or cable (default none; docs/page.md)",
    )
    p.add_argument("--cpu-slowdown", type=float, default=1.0, help="CPU slowdown factor (e.g. 4)")
    p.add_argument(
        "--threshold",
        action="append",
        default=[],
        metavar="EXPR",
        help="e.g. 'lcp<2.5s', 'cls<0.1', 'transfer_kb{type=script}<300' (repeatable)",
    )
    p.add_argument("--budget", metavar="FILE", help="a Lighthouse budget.json")
    p.add_argument("--out", help="write the page document (JSON) here")
    p.add_argument("--junit", metavar="FILE", help="write the verdicts as JUnit XML")
    p.add_argument("--timeout", default="30s", help="longest wait for one load (default 30s)")
    p.add_argument(
        "--quiet-window",
        default="1s",
        help="settled after this long with no request, long task or shift (default 1s)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress and no summary")
    _add_save_flags(p)
    p.set_defaults(handler="perfeng.cli.page:run")


def _add_diagnose(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "diagnose",
        help="ranked findings of an existing result: what limits the target, what to fix first",
        description="Print the findings of a run result (or an assessment's diagnosis run), "
        "computed from its latency, resources and profile. See docs/diagnose.md.",
        epilog=f"exit codes:\n{exit_code_help()}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("result", help="a run result (run.json) or an assessment.json")
    p.add_argument(
        "--slo",
        action="append",
        default=[],
        metavar="EXPR",
        help="judge against these SLOs instead of the run's thresholds",
    )
    p.add_argument("--json", action="store_true", help="print the findings as JSON")
    p.add_argument("--format", choices=("text", "md"), default="text", help="text or Markdown")
    p.set_defaults(handler="perfeng.cli.diagnose:run")


def _add_slo(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "slo",
        help="SLOs: Prometheus burn-rate rules from a spec, error-budget reports",
        description="SLO specs (perfeng's own TOML/YAML, Sloth prometheus/v1, OpenSLO) to "
        "Prometheus rules, and error-budget reports. See docs/monitoring.md.",
    )
    commands = p.add_subparsers(dest="slo_command", metavar="COMMAND", required=True)
    r = commands.add_parser(
        "rules",
        help="recording rules and multi-window multi-burn-rate alerts (SRE Workbook)",
        epilog=f"exit codes:\n{exit_code_help()}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    r.add_argument("spec", help="SLO spec: perfeng (.toml/.yaml), Sloth or OpenSLO (.yaml)")
    r.add_argument("-o", "--out", help="write the rules here (default: standard output)")
    r.add_argument("--period", help="SLO period, overriding the spec's (e.g. 30d, 28d, 7d)")
    r.set_defaults(handler="perfeng.cli.slo:rules")
    b = commands.add_parser(
        "report",
        help="error budgets: SLI over the period, budget left, worst windows, burn rate now",
        epilog=f"exit codes:\n{exit_code_help()}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    b.add_argument(
        "spec",
        nargs="?",
        help="a spec file (with --from prometheus://), or an SLO such as 'availability>99.9%%' "
        "(with --from history)",
    )
    b.add_argument(
        "--from",
        dest="source",
        default="history",
        metavar="SOURCE",
        help="history (the monitor's saved periods; default) or prometheus://HOST:PORT",
    )
    b.add_argument("--slo", action="append", default=[], metavar="EXPR", help="with history")
    b.add_argument("--period", help="SLO period (default: the spec's, or 30d)")
    b.add_argument("--store", help="history database URL (default $PERFENG_STORE or SQLite)")
    b.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE", help="with history")
    b.add_argument("--format", choices=("text", "md", "json", "html"), default="text")
    b.add_argument("-o", "--out", help="write the report here (default: standard output)")
    b.set_defaults(handler="perfeng.cli.slo:report")


def _add_monitor(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "monitor",
        help="probe a service until stopped: /metrics, SLO burn-rate alerts, a webhook",
        description="A synthetic monitor: probes TARGET at a steady open-model rate (latency "
        "free of coordinated omission), serves Prometheus metrics, evaluates the SLOs' "
        "multi-window burn-rate alerts itself and notifies a webhook (Alertmanager's payload). "
        "SIGTERM or Ctrl-C stops it cleanly (exit 0). See docs/monitoring.md.",
        epilog=f"exit codes:\n{exit_code_help()}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("target", help="URL, scenario.toml or flows.py (its checks apply)")
    p.add_argument("--every", help="one probe every DURATION (default 10s)")
    p.add_argument("--rate", help="or probes per second (e.g. 50)")
    p.add_argument(
        "--slo",
        action="append",
        default=[],
        metavar="EXPR",
        help="an SLO: p99<300ms (99%% of probes under 300 ms), availability>99.9%%, "
        "error_rate<0.1%% (repeatable)",
    )
    p.add_argument("--period", default="30d", help="SLO period (default 30d; windows scale)")
    p.add_argument(
        "--listen",
        help="serve /metrics on HOST:PORT (default 127.0.0.1:9464; 'off' for none)",
    )
    p.add_argument("--webhook", metavar="URL", help="POST alerts here (Alertmanager's JSON)")
    p.add_argument("--duration", help="stop after this long (default: run until stopped)")
    p.add_argument("-X", "--method", default=None, help="HTTP method (URL target)")
    p.add_argument("-H", "--header", action="append", default=[], metavar="'NAME: VALUE'")
    p.add_argument("--timeout", help="a probe slower than this fails (default 30s)")
    p.add_argument("--insecure", action="store_true", help="do not verify TLS certificates")
    p.add_argument("--base-url", help="base URL for a flows.py target")
    _add_save_flags(p)
    p.add_argument(
        "--save-every",
        default="5m",
        metavar="DURATION",
        help="with --save: append a summary this often (default 5m)",
    )
    p.set_defaults(handler="perfeng.cli.monitor:run")


def _add_cluster(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "cluster",
        help="a Dask cluster on this machine for trying load --cluster",
        description="Start a Dask LocalCluster (scheduler and worker processes) and print its "
        "address for `perfeng load ... --cluster ADDRESS`; runs until stopped. On real "
        "machines use Dask's own `dask scheduler` and `dask worker` (docs/scale-out.md).",
    )
    commands = p.add_subparsers(dest="cluster_command", metavar="COMMAND", required=True)
    loc = commands.add_parser("local", help="scheduler and workers on this machine")
    loc.add_argument("--workers", default="2", help="worker processes (default 2)")
    loc.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    loc.add_argument("--port", default="0", help="scheduler port (default: any free one)")
    loc.set_defaults(handler="perfeng.cli.cluster:local")


def _add_compare(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "compare",
        help="is head slower than base? (benchmark or load-test results, name by name)",
        description="Compare two benchmark results (Mann-Whitney U, Hodges-Lehmann shift) or "
        "two load-test results (p50/p90/p99 by Mood's quantile test, throughput by a Poisson "
        "rate test). A change counts when significant (p < --alpha) and larger than "
        "--min-effect. Exit 1 when anything is slower.",
        epilog=f"exit codes:\n{exit_code_help()}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("base", help="the baseline result (JSON)")
    p.add_argument("head", help="the result to judge (JSON)")
    p.add_argument(
        "--min-effect",
        help="smallest change that counts (default 5%%; 1%% for counted benchmark results)",
    )
    p.add_argument("--alpha", default="0.01", help="significance level (default 0.01)")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")
    p.add_argument("--format", choices=("text", "md"), default="text", help="table or Markdown")
    p.set_defaults(handler="perfeng.cli.compare:run")


def _add_gate(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "gate",
        help="check a result against the budgets in perfeng.toml (absolute or vs history)",
        description="Check a load-test or benchmark result against budgets: absolute limits "
        "(p99<200ms, median<2ms) and limits relative to a baseline from the history database "
        "or a baseline file (p99:+10%%, median:+5%%). See docs/gate.md.",
        epilog=f"exit codes:\n{exit_code_help()}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("result", help="the result to check (JSON)")
    p.add_argument("--budgets", default="perfeng.toml", help="TOML file with a [budgets] table")
    p.add_argument("--baseline", help="a result file to use as the baseline instead of history")
    p.add_argument("--store", help="history database URL (default $PERFENG_STORE or SQLite)")
    p.add_argument("--junit", metavar="FILE", help="also write the verdicts as JUnit XML")
    p.add_argument("--json", action="store_true", help="print the verdicts as JSON")
    p.set_defaults(handler="perfeng.cli.gate:run")


def _add_history(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--store",
        metavar="URL",
        help="sqlite:///PATH or postgresql+psycopg://USER@HOST/DB "
        "(default: $PERFENG_STORE, else .perfeng/history.db)",
    )
    p = sub.add_parser(
        "history",
        help="the history database: add results, list, show and export them",
        epilog=f"exit codes:\n{exit_code_help()}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = p.add_subparsers(dest="history_command", metavar="COMMAND")
    a = commands.add_parser("add", parents=[common], help="store result documents")
    a.add_argument("files", nargs="+", help="run, bench or capacity results (JSON)")
    a.add_argument(
        "--tag", action="append", default=[], metavar="KEY=VALUE", help="label (repeatable)"
    )
    ls = commands.add_parser("list", parents=[common], help="stored results, newest first")
    ls.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    ls.add_argument("--kind", choices=["run", "bench", "capacity", "page"], help="only this kind")
    ls.add_argument("--branch", help="only results from this git branch")
    ls.add_argument("--json", action="store_true", help="print JSON")
    s = commands.add_parser("show", parents=[common], help="one stored result")
    s.add_argument("id", type=int, help="the result's id (see history list)")
    s.add_argument("--json", action="store_true", help="print the stored document itself")
    e = commands.add_parser("export", parents=[common], help="metrics as CSV, one row each")
    e.add_argument("--format", choices=["csv"], default="csv", help="csv (the default)")
    e.add_argument("--name", help="only this name (total, a request or benchmark name)")
    e.add_argument("--stat", help="only this statistic, e.g. p99, median, throughput")
    e.add_argument("--kind", choices=["run", "bench", "capacity", "page"], help="only this kind")
    e.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    p.set_defaults(handler="perfeng.cli.history:run")


def _add_bench(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "bench",
        help="benchmark Python callables (bench_*.py files, @perfeng.bench) or whole commands",
        description="Benchmark the bench_* and @bench functions under PATH in fresh worker "
        "processes, or whole commands with --cmd. Exit code 2 if any benchmark failed.",
        epilog=f"exit codes:\n{exit_code_help()}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("path", nargs="?", help="a benchmark file, or a folder of bench_*.py files")
    p.add_argument("-k", dest="pattern", metavar="TEXT", help="only names containing TEXT")
    p.add_argument(
        "--cmd", action="append", default=[], metavar="COMMAND", help="time a command (repeatable)"
    )
    p.add_argument("-N", "--no-shell", action="store_true", help="--cmd: start directly, no shell")
    p.add_argument("--runs", type=int, help="--cmd: exact number of timed runs per command")
    p.add_argument(
        "--ignore-failure", action="store_true", help="--cmd: accept non-zero exit codes"
    )
    preset = p.add_mutually_exclusive_group()
    preset.add_argument("--fast", action="store_true", help="fewer processes and values")
    preset.add_argument("--rigorous", action="store_true", help="more processes or runs")
    p.add_argument("--processes", type=int, help="worker processes per benchmark")
    p.add_argument("--values", type=int, help="timed values per worker process")
    p.add_argument("--warmups", "--warmup", type=int, help="warm-up values per process or runs")
    p.add_argument(
        "--min-time",
        help="shortest raw timing (callables, default 100ms) or "
        "shortest total per command (default 3s)",
    )
    p.add_argument("--json", action="store_true", help="print the result document as JSON")
    p.add_argument("--out", help="write the result document (JSON) to this file")
    p.add_argument(
        "--base",
        metavar="PATH",
        help="also measure the baseline's benchmarks at PATH, interleaved with PATH's (A B B A "
        "...), so machine noise hits both alike; needs --base-out",
    )
    p.add_argument("--base-out", metavar="FILE", help="with --base: the baseline's result file")
    p.add_argument(
        "--instructions",
        action="store_true",
        help="count instructions and estimated cycles under Valgrind (callgrind) instead of "
        "timing: separate runs agree to well under 1%% (docs/bench.md)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress and no table")
    _add_save_flags(p)
    p.set_defaults(handler="perfeng.cli.bench:run")


def _add_detect(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "detect",
        help="change points in a history (CSV or the database); exit 1 if the newest is worse",
        description="Find the change points of a series (windowed E-Divisive with a t-test, "
        "robust to lone spikes; see docs/detect.md) and say whether the newest segment is a "
        "regression against the one before it.",
        epilog=f"exit codes:\n{exit_code_help()}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "series", nargs="?", help="CSV with a header: value (or --column), optional commit, time"
    )
    p.add_argument(
        "--metric",
        metavar="NAME:STAT",
        help="read the series from the history database instead, e.g. total:p99",
    )
    p.add_argument("--store", help="history database URL (default $PERFENG_STORE or SQLite)")
    p.add_argument("--branch", help="with --metric: only results saved on this branch")
    p.add_argument("--column", help="the column to analyse (default: value, or the only numeric)")
    p.add_argument("--alpha", default="0.001", help="largest p-value kept (default 0.001)")
    p.add_argument("--window", default="50", help="values per split window (default 50)")
    p.add_argument("--min-size", default="3", help="fewest values in a segment (default 3)")
    p.add_argument(
        "--min-magnitude",
        help="drop changes smaller than this: 0.05 or 5%% (default 0; 1%% for the counted "
        "instructions and est_cycles)",
    )
    p.add_argument("--higher-is-better", action="store_true", help="e.g. throughput")
    p.add_argument("--json", action="store_true", help="print a JSON object (docs/detect.md)")
    p.set_defaults(handler="perfeng.cli.detect:run")


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line, like every other error (sub-commands inherit the class)."""

    def error(self, message: str) -> NoReturn:
        self.exit(int(ExitCode.USAGE), f"perfeng: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="perfeng",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"perfeng {__version__}")
    sub: argparse._SubParsersAction[argparse.ArgumentParser]
    # the sub-parsers are _Parser too (add_subparsers takes the parent's class)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")  # type: ignore[assignment]
    _add_load(sub)
    _add_history(sub)
    _add_merge(sub)
    _add_import(sub)
    _add_demo(sub)
    _add_report(sub)
    _add_capacity(sub)
    _add_assess(sub)
    _add_page(sub)
    _add_proxy(sub)
    _add_diagnose(sub)
    _add_slo(sub)
    _add_monitor(sub)
    _add_cluster(sub)
    _add_bench(sub)
    _add_compare(sub)
    _add_gate(sub)
    _add_detect(sub)
    return parser


def _resolve(path: str) -> Handler:
    import importlib

    module_name, _, attr = path.partition(":")
    handler: Handler = getattr(importlib.import_module(module_name), attr)
    return handler


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list:
        from perfeng.cli.menu import run_menu

        return int(run_menu())
    parser = build_parser()
    args = parser.parse_args(args_list)
    try:
        return _resolve(args.handler)(args)
    except PerfengError as exc:
        print(f"perfeng: error: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("perfeng: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        return int(ExitCode.OK)
    except Exception as exc:  # a bug: one line and its own exit code, not 1 ("regression")
        if os.environ.get("PERFENG_DEBUG"):
            raise
        print(
            f"perfeng: internal error: {type(exc).__name__}: {exc} (a bug in perfeng; "
            "PERFENG_DEBUG=1 shows the traceback)",
            file=sys.stderr,
        )
        return int(ExitCode.INTERNAL)
