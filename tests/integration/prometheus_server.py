"""A real Prometheus (Debian's package) on loopback with a temporary TSDB, for the tests."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.conftest import require_program


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def prometheus(folder: Path, scrape: str, rules: Path, interval: str = "500ms") -> Iterator[str]:
    """Prometheus scraping ``scrape`` (HOST:PORT) with ``rules``; yields its base URL."""
    binary = require_program("prometheus")
    config = folder / "prometheus.yml"
    config.write_text(
        json.dumps(
            {
                "global": {"scrape_interval": interval, "evaluation_interval": interval},
                "rule_files": [str(rules)],
                "scrape_configs": [
                    {"job_name": "perfeng", "static_configs": [{"targets": [scrape]}]}
                ],
            }
        )
    )
    port = free_port()
    log = (folder / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={folder / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{base}/-/ready", timeout=2),
            ):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    "prometheus did not start: " + (folder / "prometheus.log").read_text()[-2000:]
                )
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        log.close()


def api(base: str, path: str) -> Any:
    with urllib.request.urlopen(f"{base}{path}", timeout=10) as response:
        return json.loads(response.read())["data"]


def firing_alerts(base: str) -> list[dict[str, Any]]:
    return [a for a in api(base, "/api/v1/alerts")["alerts"] if a["state"] == "firing"]
