"""How long ``perfeng page`` takes: five runs of a simple local page, end to end (issue 12 §4).

A loopback server answers a small page (a heading, a paragraph, a stylesheet); ``perfeng page
URL --runs 5`` is timed as a whole command, browser starts included, ``--reps`` times, and the
median and range are printed beside the target (under 15 s on a 2-core machine). A second
line times one browser start and stop alone (the part of each run that is not the page).

    .venv/bin/python benchmarks/page_runs.py [--reps 5] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PAGE = (
    b"<!doctype html><html><head><link rel=stylesheet href=/s.css></head>"
    b"<body><h1>simple</h1><p>a paragraph of text</p></body></html>"
)


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body, kind = (
            (b"h1{color:navy}", "text/css") if self.path == "/s.css" else (PAGE, "text/html")
        )
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def browser_start_stop() -> float:
    from perfeng.browser.cdp import Browser, chromium_path

    began = time.perf_counter()
    with Browser(chromium_path()) as browser:
        browser.call("Target.createTarget", {"url": "about:blank"})
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    times, starts = [], []
    with tempfile.TemporaryDirectory() as work:
        for rep in range(args.reps):
            began = time.perf_counter()
            command = [sys.executable, "-m", "perfeng", "page", url, "--runs", str(args.runs)]
            done = subprocess.run(
                [*command, "--quiet", "--out", f"{work}/p.json"], capture_output=True, text=True
            )
            if done.returncode != 0:
                raise SystemExit(f"perfeng page failed: {done.stderr.strip()}")
            times.append(time.perf_counter() - began)
            starts.append(browser_start_stop())
            print(f"rep {rep + 1}: {times[-1]:.2f} s", flush=True)
    server.shutdown()
    median = statistics.median(times)
    verdict = "PASS" if median < 15 else "MISS"
    print(
        f"perfeng page --runs {args.runs}: median {median:.2f} s (min {min(times):.2f}, max "
        f"{max(times):.2f}) over {args.reps} reps; target < 15 s: {verdict}"
    )
    print(f"one browser start and stop: median {statistics.median(starts):.2f} s")


if __name__ == "__main__":
    main()
