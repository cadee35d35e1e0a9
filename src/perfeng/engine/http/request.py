"""Turning a request description into the bytes sent on the wire, and URL handling."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from perfeng.errors import UsageError

USER_AGENT = "perfeng/0.1"


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str
    port: int

    @property
    def tls(self) -> bool:
        return self.scheme == "https"

    @property
    def host_header(self) -> str:
        default = 443 if self.tls else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"

    def __str__(self) -> str:
        return f"{self.scheme}://{self.host_header}"


def split_url(url: str) -> tuple[Origin, str]:
    """``'http://h:8080/a?b'`` -> (Origin('http', 'h', 8080), '/a?b'); UsageError when invalid."""
    if any(ord(c) <= 32 or ord(c) == 127 for c in url):
        raise UsageError(f"invalid URL {url!r}: spaces and control characters must be %-encoded")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"invalid URL {url!r}: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise UsageError(f"invalid URL {url!r}: only http:// and https:// are supported")
    if not parts.hostname:
        raise UsageError(f"invalid URL {url!r}: no host")
    host = parts.hostname
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise UsageError(f"invalid URL {url!r}: the host name cannot be encoded") from None
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    if not 1 <= port <= 65535:
        raise UsageError(f"invalid URL {url!r}: port must be between 1 and 65535")
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    if not target.isascii():  # as browsers do: UTF-8, percent-encoded
        target = quote(target, safe="/?:@!$&'()*+,;=%-._~[]")
    return Origin(parts.scheme, host, port), target


def join_url(base_url: str, url: str) -> str:
    if url[:8].lower().startswith(("http://", "https://")):
        return url
    return base_url.rstrip("/") + (url if url.startswith("/") else "/" + url)


def encode_request(
    method: str,
    origin: Origin,
    target: str,
    headers: tuple[tuple[str, str], ...] = (),
    body: bytes | None = None,
    *,
    keep_alive: bool = True,
) -> bytes:
    """The request bytes; Host, User-Agent and Content-Length are added unless given."""
    given = {name.lower() for name, _ in headers}
    lines = [f"{method} {target} HTTP/1.1"]
    if "host" not in given:
        lines.append(f"Host: {origin.host_header}")
    if "user-agent" not in given:
        lines.append(f"User-Agent: {USER_AGENT}")
    lines.extend(f"{name}: {value}" for name, value in headers)
    if body is not None and "content-length" not in given:
        lines.append(f"Content-Length: {len(body)}")
    elif body is None and method in ("POST", "PUT", "PATCH") and "content-length" not in given:
        lines.append("Content-Length: 0")
    if not keep_alive and "connection" not in given:
        lines.append("Connection: close")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + body if body else head
