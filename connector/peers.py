"""Calls to other nodes: one HTTP client, a fresh self-issued token per request, DIDs resolved to URLs only
through the participant list (no request ever goes to an address a caller chose).

Protocol messages (small JSON bodies, one after another to the same few peers) go over the standard library's
``http.client`` on keep-alive connections held per thread and origin: a message then costs about 0.2 ms of CPU on
the sending side against 0.5 ms through httpx, whose per-request machinery (URL models, cookie jar, hooks) this
use does not need. Streams and anything a test routes through a custom transport keep httpx.
"""

from __future__ import annotations

import http.client
import json as _json
import ssl
import threading
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

__all__ = ["PeerError", "did_web_url", "PeerClient"]

TIMEOUT = httpx.Timeout(10.0, connect=2.0)


class PeerError(Exception):
    """A peer that could not be reached or answered with an error; ``status`` is the HTTP status if any."""

    def __init__(self, message: str, status: int | None = None, body: Any = None):
        super().__init__(message)
        self.status = status
        self.body = body


def did_web_url(did: str, *, insecure: bool) -> str:
    """Base URL of a ``did:web`` (``did:web:127.0.0.1%3A8101`` → ``http://127.0.0.1:8101``).

    Plain http only for loopback hosts and only in insecure test mode.
    """
    if not did.startswith("did:web:"):
        raise PeerError(f"not a did:web: {did}")
    parts = did[len("did:web:"):].split(":")
    host = unquote(parts[0])
    path = "/".join(unquote(p) for p in parts[1:])
    hostname = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    loopback = hostname in ("127.0.0.1", "localhost", "[::1]") or hostname.startswith("127.")
    scheme = "http" if (insecure and loopback) else "https"
    return f"{scheme}://{host}" + (f"/{path}" if path else "")


_RETRYABLE_ON_REUSE = (http.client.RemoteDisconnected, http.client.BadStatusLine, ConnectionResetError,
                       BrokenPipeError, ConnectionAbortedError)


class _KeepAlive:
    """One persistent connection per (thread, scheme, host, port); timeouts as ``TIMEOUT``; redirects not followed."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._tls: ssl.SSLContext | None = None

    def _connection(self, scheme: str, host: str, port: int | None) -> tuple[http.client.HTTPConnection, bool]:
        pool = self._local.__dict__.setdefault("pool", {})
        key = (scheme, host, port)
        conn = pool.get(key)
        if conn is not None:
            return conn, True
        if scheme == "https":
            if self._tls is None:
                self._tls = ssl.create_default_context()
            conn = http.client.HTTPSConnection(host, port, timeout=TIMEOUT.connect, context=self._tls)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT.connect)
        conn.connect()
        assert conn.sock is not None
        conn.sock.settimeout(TIMEOUT.read)
        pool[key] = conn
        return conn, False

    def _drop(self, scheme: str, host: str, port: int | None) -> None:
        conn = self._local.__dict__.get("pool", {}).pop((scheme, host, port), None)
        if conn is not None:
            conn.close()

    def request(self, method: str, url: str, body: bytes | None, headers: dict[str, str]) -> tuple[int, bytes, str]:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PeerError(f"{method} {url}: not an http(s) URL")
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        key = (parts.scheme, parts.hostname, parts.port)
        for attempt in range(2):
            conn, reused = self._connection(*key)
            try:
                conn.request(method, target, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
            except _RETRYABLE_ON_REUSE:
                self._drop(*key)
                if reused and attempt == 0:   # the peer closed an idle keep-alive connection: once more, fresh
                    continue
                raise
            except BaseException:
                self._drop(*key)
                raise
            if resp.will_close:
                self._drop(*key)
            return resp.status, data, resp.getheader("Content-Type", "")
        raise AssertionError("unreachable")

    def close(self) -> None:
        for conn in self._local.__dict__.get("pool", {}).values():
            conn.close()
        self._local.__dict__["pool"] = {}


class PeerClient:
    """JSON in and out, errors as :class:`PeerError`; httpx for streams and custom transports."""

    def __init__(self, transport: httpx.BaseTransport | None = None):
        self._client = httpx.Client(timeout=TIMEOUT, follow_redirects=False, transport=transport)
        self._lean = _KeepAlive() if transport is None else None

    def request(self, method: str, url: str, *, token: str | None = None, json: Any = None,
                headers: dict[str, str] | None = None, expect_json: bool = True) -> tuple[int, Any]:
        h = dict(headers or {})
        if token:
            h["Authorization"] = f"Bearer {token}"
        if self._lean is None:
            return self._via_httpx(method, url, h, json, expect_json)
        payload = None
        if json is not None:
            payload = _json.dumps(json, ensure_ascii=False, separators=(",", ":")).encode()
            h.setdefault("Content-Type", "application/json")
        h.setdefault("Accept", "application/json")
        try:
            status, data, _ctype = self._lean.request(method, url, payload, h)
        except PeerError:
            raise
        except (OSError, http.client.HTTPException) as e:
            raise PeerError(f"{method} {url}: {type(e).__name__}: {e}") from None
        text = data.decode("utf-8", errors="replace")
        if not expect_json:
            return status, text
        try:
            return status, _json.loads(text)
        except ValueError:
            return status, text

    def _via_httpx(self, method: str, url: str, h: dict[str, str], json: Any,
                   expect_json: bool) -> tuple[int, Any]:
        try:
            resp = self._client.request(method, url, json=json, headers=h)
        except httpx.HTTPError as e:
            raise PeerError(f"{method} {url}: {type(e).__name__}: {e}") from None
        body: Any
        if expect_json:
            try:
                body = resp.json()
            except ValueError:
                body = resp.text
        else:
            body = resp.text
        return resp.status_code, body

    def close(self) -> None:
        self._client.close()
        if self._lean is not None:
            self._lean.close()
