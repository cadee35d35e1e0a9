"""Against nginx, the anchors' target: a real, fast, standards-conforming server."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_program
from tests.integration.engine_helpers import run, scenario

CONFIG = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  keepalive_requests 100000;
  server {{
    listen 127.0.0.1:{port};
    location / {{ default_type text/plain; return 200 "ok\\n"; }}
    location /missing {{ return 404; }}
    location /chunked {{ chunked_transfer_encoding on; return 200 "chunk"; }}
  }}
}}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = require_program("nginx")
    directory = tmp_path_factory.mktemp("nginx")
    port = _free_port()
    (directory / "nginx.conf").write_text(CONFIG.format(dir=directory, port=port))
    proc = subprocess.Popen(
        [binary, "-c", str(directory / "nginx.conf"), "-p", str(directory)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for(port, proc, directory)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _wait_for(port: int, proc: subprocess.Popen[bytes], directory: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"nginx exited: {(directory / 'error.log').read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    pytest.fail("nginx did not start listening")


def test_closed_model_against_nginx_has_no_errors(nginx: str) -> None:
    summary, generator = run(scenario(nginx + "/", users=10, duration=1.0))
    assert summary["requests"] > 1000
    assert summary["errors"] == 0
    assert generator["connections_opened"] == 10


def test_open_model_against_nginx_meets_its_schedule(nginx: str) -> None:
    summary, _ = run(scenario(nginx + "/", rate=1000, duration=1.0))
    assert summary["requests"] == 1000
    assert summary["dropped"] == 0


def test_nginx_404_is_an_http_4xx_error(nginx: str) -> None:
    summary, _ = run(scenario(nginx + "/missing", users=2, duration=0.3))
    assert summary["errors_by_class"]["http_4xx"] == summary["requests"] > 0
