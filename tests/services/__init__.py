"""Three small services, each with the same six endpoints served in a different style
(plain WSGI under gunicorn, plain ASGI under uvicorn, stdlib ``ThreadingHTTPServer``), so
tests can show that the diagnosis works beyond the embedded demo. ``behaviours`` holds what
the endpoints do, once; ``launch`` starts the services."""
