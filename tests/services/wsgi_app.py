"""The six test endpoints as a plain WSGI application (no framework), in the style of a
Flask/Django app served by gunicorn's threaded worker: one process, a pool of threads.
What each endpoint does is in ``behaviours``; this file is the WSGI callable.

Run from the repository root::

    python -m gunicorn --bind 127.0.0.1:PORT --workers 1 --threads 16 \
        --worker-class gthread tests.services.wsgi_app:app

16 threads, not 8: gthread hands at most ``--threads`` requests to the app at once and
queues the rest itself, so with 8 threads /shed (limit 8) would never see a ninth request.
"""

from __future__ import annotations

from collections.abc import Iterable
from wsgiref.types import StartResponse, WSGIEnvironment

from tests.services.behaviours import respond

REASONS = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}


def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    status, body = respond(environ.get("PATH_INFO", ""))
    headers = [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
    start_response(f"{status} {REASONS[status]}", headers)
    return [body]
