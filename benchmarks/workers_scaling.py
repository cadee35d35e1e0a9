"""What `perfeng load --workers N` gives on this machine (issue 11, section 4): throughput and
generator CPU per request with 1 and 2 local workers, the start skew between workers, and how
exactly the merged open-model rate follows the plan.

Arrangement on a 2-core machine. The target is nginx with 2 worker processes, unpinned,
returning a fixed 3-byte body: it costs about a third of perfeng's CPU per request. It can
therefore not be kept off the generators' cores. What carries over to bigger machines is the
generators' **CPU per request** (user+sys of every worker process / requests, from each
worker's own accounting in the merged result): it shows whether splitting costs anything per
request. Throughput is shown beside it, with the machine's limit said plainly.

Runs, interleaved over ``--reps`` repetitions (the order alternates):
- closed:  ``perfeng load URL --users 64 --duration D --workers W`` (saturating);
- open:    ``perfeng load URL --rate R --duration D --workers W`` (R below saturation), for
  the merged rate's accuracy and the start skew.

    .venv/bin/python benchmarks/workers_scaling.py --reps 3 --duration 5 --rate 6000
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

NGINX_CONF = """\
worker_processes 2;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 100000000;
    keepalive_timeout 120s;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location / {{ default_type text/plain; return 200 "ok\\n"; }}
    }}
}}
"""


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _load(url: str, workers: int, args: list[str], out: Path) -> dict[str, Any]:
    command = [sys.executable, "-m", "perfeng", "load", url, *args, "--quiet", "--out", str(out)]
    if workers > 1:
        command += ["--workers", str(workers)]
    subprocess.run(command, check=True, capture_output=True, timeout=300)
    document = json.loads(out.read_text())
    summary = document["summary"]
    generators = document["generator"].get("merged") or [document["generator"]]
    seconds = document["metadata"]["end_epoch_s"] - document["metadata"]["start_epoch_s"]
    cpu_s = sum(g["cpu_share_of_core"] for g in generators) * seconds
    return {
        "requests": summary["requests"],
        "throughput": summary["throughput_rps"],
        "cpu_us_per_request": 1e6 * cpu_s / max(summary["requests"], 1),
        "dropped": summary["dropped"],
        "start_skew_ms": document["generator"].get("start_skew_ms", 0.0),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--rate", type=int, default=6000, help="open-model rate (req/s)")
    parser.add_argument("--json-out")
    args = parser.parse_args()
    if shutil.which("nginx") is None:
        raise SystemExit("nginx is needed: make system-deps")
    folder = Path(tempfile.mkdtemp(prefix="workers-scaling."))
    port = _port()
    (folder / "nginx.conf").write_text(NGINX_CONF.format(dir=folder, port=port))
    nginx = subprocess.Popen(
        ["nginx", "-e", str(folder / "error.log"), "-c", str(folder / "nginx.conf"), "-p",
         f"{folder}/"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    time.sleep(0.5)
    runs: dict[str, list[dict[str, Any]]] = {}
    try:
        for rep in range(args.reps):
            order = (1, 2) if rep % 2 == 0 else (2, 1)
            for workers in order:
                for kind, load in (
                    ("closed", ["--users", "64", "--duration", f"{args.duration}s"]),
                    ("open", ["--rate", str(args.rate), "--duration", f"{args.duration}s"]),
                ):
                    result = _load(url, workers, load, folder / f"{kind}-{workers}.json")
                    runs.setdefault(f"{kind}/{workers}", []).append(result)
                    print(f"rep {rep + 1} {kind:<6} workers={workers}: {result}", flush=True)
    finally:
        nginx.terminate()
        nginx.wait(10)
    summary = {key: _median(values) for key, values in runs.items()}
    for key, figures in summary.items():
        print(f"{key:<9} " + ", ".join(f"{k} {v:,.2f}" for k, v in figures.items()))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"runs": runs, "medians": summary}, indent=1))
    return 0


def _median(values: list[dict[str, Any]]) -> dict[str, float]:
    return {key: statistics.median(v[key] for v in values) for key in values[0]}


if __name__ == "__main__":
    raise SystemExit(main())
