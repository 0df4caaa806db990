"""A bounded HTTP GET for DID documents and status lists (the I/O the resolver and caches take as a callable).

No redirects are followed (a 3xx is an error), the whole exchange times out after 2 s, and the body is read in
chunks up to a byte limit, so a hostile or broken peer cannot point us elsewhere or make us buffer without end.
"""

from __future__ import annotations

import time
from typing import Callable

import httpx

from .errors import DIDError

__all__ = ["http_fetcher"]


def http_fetcher(client: httpx.Client | None = None, *, timeout: float = 2.0,
                 max_bytes: int = 64 * 1024) -> Callable[[str], bytes]:
    """A ``fetch(url) -> bytes`` callable; pass a client to share connections or to plug a test transport."""
    own = client or httpx.Client(timeout=timeout, follow_redirects=False)

    def fetch(url: str) -> bytes:
        deadline = time.monotonic() + timeout  # httpx timeouts are per operation; a trickling peer needs a total
        with own.stream("GET", url, timeout=timeout, follow_redirects=False,
                        headers={"Accept": "application/json, application/did+json, application/jwt"}) as resp:
            if resp.status_code != 200:
                raise DIDError("UNRESOLVABLE", f"GET {url} answered {resp.status_code}")
            declared = resp.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                raise DIDError("OVERSIZE", f"GET {url} declares {declared} bytes, limit {max_bytes}")
            body = bytearray()
            for chunk in resp.iter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise DIDError("OVERSIZE", f"GET {url} sent more than {max_bytes} bytes")
                if time.monotonic() > deadline:
                    raise DIDError("UNRESOLVABLE", f"GET {url} took longer than {timeout} s")
            return bytes(body)

    return fetch
