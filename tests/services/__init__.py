"""Three small services, each with the same six endpoints written in a different style
(plain WSGI under gunicorn, plain ASGI under uvicorn, stdlib ``ThreadingHTTPServer``), so
tests can show that the diagnosis works beyond the embedded demo. ``launch`` starts them."""
