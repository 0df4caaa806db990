"""Calls to other nodes: one HTTP client, a fresh self-issued token per request, DIDs resolved to URLs only
through the participant list (no request ever goes to an address a caller chose)."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

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


class PeerClient:
    """Thin wrapper over httpx: JSON in and out, errors as :class:`PeerError`."""

    def __init__(self, transport: httpx.BaseTransport | None = None):
        self._client = httpx.Client(timeout=TIMEOUT, follow_redirects=False, transport=transport)

    def request(self, method: str, url: str, *, token: str | None = None, json: Any = None,
                headers: dict[str, str] | None = None, expect_json: bool = True) -> tuple[int, Any]:
        h = dict(headers or {})
        if token:
            h["Authorization"] = f"Bearer {token}"
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
