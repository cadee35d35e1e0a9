"""How to start each test service as its own process, so every test starts them alike.

``SERVICES`` maps a name to the argv that starts it, with ``python`` standing for the
interpreter and ``{port}`` for the port; ``command`` fills both in. The commands import
``tests.services.*``, so they must run from the repository root: pass ``cwd`` (as
tests/integration/test_services.py does) when starting them from anywhere else.
"""

from __future__ import annotations

import sys

SERVICES: dict[str, list[str]] = {
    # plain WSGI under gunicorn's threaded worker: one process, 16 threads (see wsgi_app)
    "wsgi": [
        "python",
        "-m",
        "gunicorn",
        "--bind",
        "127.0.0.1:{port}",
        "--workers",
        "1",
        "--threads",
        "16",
        "--worker-class",
        "gthread",
        "tests.services.wsgi_app:app",
    ],
    # plain ASGI under uvicorn: one process, one event loop
    "asgi": [
        "python",
        "-m",
        "uvicorn",
        "tests.services.asgi_app:app",
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
        "--no-access-log",
    ],
    # the standard library's ThreadingHTTPServer: a thread per connection
    "threaded": ["python", "-m", "tests.services.threaded_server", "--port", "{port}"],
}


def command(name: str, port: int) -> list[str]:
    """The argv that starts service ``name`` on ``port`` with this interpreter."""
    argv = [arg.replace("{port}", str(port)) for arg in SERVICES[name]]
    return [sys.executable, *argv[1:]]
