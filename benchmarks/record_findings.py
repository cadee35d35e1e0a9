"""Record real watched runs as fixtures for tests/unit/test_diagnose_recorded.py.

Each endpoint of the demo service (as ``perfeng demo`` runs it) and two endpoints of the test
services (gunicorn's /cpu, uvicorn's blocking /serial) are loaded, watched and profiled; the
run documents are written gzipped to tests/data/recorded/ with the diagnosis they showed.
The findings tests then check that the analysis still reads them the same way.

    .venv/bin/python benchmarks/record_findings.py [--seconds 9]

Run it on a quiet machine: it keeps a recording only when the run did not see the machine
busy with other work (no ``machine_busy`` finding), and says which it dropped.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shlex
import socket
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "data" / "recorded"
sys.path.insert(0, str(ROOT))

EXPECTED = {
    "/fast": "no_bottleneck",
    "/io": "no_bottleneck",
    "/cpu": "cpu_saturation",
    "/lock": "serialisation",
    "/pool": "pool_limit",
    "/flaky": "errors_under_load",
    "/leak": "memory_growth",
}
SERVICES = (("wsgi", "/cpu", "cpu_saturation"), ("asgi", "/serial", "serialisation"))


def top(findings: list[dict[str, Any]]) -> str:
    ids = [f["id"] for f in findings if f["id"] not in ("generator", "watch_unavailable")]
    return ids[0] if ids else "none"


def keep(name: str, document: dict[str, Any], expected: str) -> None:
    findings = document["findings"]
    if "machine_busy" in [f["id"] for f in findings]:
        print(f"{name}: dropped, the machine was busy with other work")
        return
    found = top(findings)
    path = OUT / f"{name}.json.gz"
    with gzip.open(path, "wt", encoding="utf-8") as sink:
        json.dump({"expected": expected, "document": document}, sink)
    mark = "" if found == expected else f" (MISMATCH: expected {expected})"
    print(f"{name}: {found}{mark} -> {path.relative_to(ROOT)}")


def demo(seconds: float) -> None:
    from perfeng.demo.server import start_process
    from perfeng.workflows.demo import DemoSettings, run_demo

    service = start_process()
    try:
        for path, expected in EXPECTED.items():
            settings = DemoSettings(seconds=seconds, endpoints=(path,), on_event=lambda _: None)
            assessment = run_demo(service.url, service.process.pid, settings)
            keep(f"demo{path.replace('/', '-')}", assessment.runs[path], expected)
    finally:
        service.stop()


def services(seconds: float) -> None:
    import subprocess

    from tests.services.launch import command

    for name, path, expected in SERVICES:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        out = OUT / "run.json"
        ramp = f"1s:20,{seconds * 0.5:g}s:600,{seconds * 0.4:g}s:600"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "perfeng",
                "load",
                f"http://127.0.0.1:{port}{path}",
                "--rate",
                "20",
                "--stages",
                ramp,
                "--quiet",
                "--out",
                str(out),
                "--target-cmd",
                shlex.join(command(name, port)),
            ],
            cwd=ROOT,
            check=False,
        )
        document = json.loads(out.read_text())
        out.unlink()
        Path(document["target"]["log"]).unlink(missing_ok=True)
        keep(f"{name}{path.replace('/', '-')}", document, expected)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=9.0, help="per run (default 9)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    demo(args.seconds)
    services(args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
