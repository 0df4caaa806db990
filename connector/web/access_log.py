"""The served node's access log: one Apache combined-format line per request, written when its response ends.

``127.0.0.1 - - [26/Nov/2026:09:33:09 +0000] "GET /path?q HTTP/1.1" 200 1234 "referer" "user agent"``: the format
every log tool reads. The byte count is the body actually sent, so a streamed file cut short shows what went out.

Small responses with a length are handed to the server in one piece (one call from Python into the server instead
of one per chunk of the app's iterator); file responses stream in 1 MiB reads instead of the WSGI default of 8 KiB.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator
from urllib.parse import quote

from werkzeug.wsgi import FileWrapper

__all__ = ["AccessLog"]

_WHOLE = 1 << 20          # responses up to this length are joined into one body
_FILE_CHUNK = 1 << 20
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


def _file_wrapper(file: Any, buffer_size: int = 8192) -> FileWrapper:
    return FileWrapper(file, max(buffer_size, _FILE_CHUNK))


class _Stamp:
    """``[26/Nov/2026:09:33:09 +0000]`` of the current second, formatted once per second."""

    def __init__(self) -> None:
        self._second = -1
        self._text = ""

    def __call__(self, now: float) -> str:
        second = int(now)
        if second != self._second:
            self._text = time.strftime("[%d/%b/%Y:%H:%M:%S %z]", time.localtime(second))
            self._second = second
        return self._text


class _Logged:
    """The app's response iterable, counting what is sent and writing the line when the server closes it."""

    __slots__ = ("_inner", "_log", "_environ", "_status", "sent")

    def __init__(self, inner: Iterable[bytes], log: "AccessLog", environ: dict[str, Any], status: list[str]):
        self._inner, self._log, self._environ, self._status = inner, log, environ, status
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._inner:
            self.sent += len(chunk)
            yield chunk

    def close(self) -> None:
        try:
            close = getattr(self._inner, "close", None)
            if close is not None:
                close()
        finally:
            self._log.write(self._environ, self._status, self.sent)


class AccessLog:
    """WSGI middleware around a node's app, appending to ``path``."""

    def __init__(self, app: Callable[..., Iterable[bytes]], path: Path) -> None:
        self.app = app
        self._file = open(path, "a", encoding="utf-8", buffering=1)   # one write per line
        self._lock = threading.Lock()
        self._stamp = _Stamp()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        environ["wsgi.file_wrapper"] = _file_wrapper
        status: list[str] = ["500", ""]

        def start(code: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status[0] = code.split(" ", 1)[0]
            for name, value in headers:
                if len(name) == 14 and name.lower() == "content-length":
                    status[1] = value
            return start_response(code, headers, exc_info)

        body = self.app(environ, start)
        if status[1] and status[1].isdigit() and int(status[1]) <= _WHOLE:
            try:
                whole = b"".join(body)
            finally:
                close = getattr(body, "close", None)
                if close is not None:
                    close()
            self.write(environ, status, len(whole))
            return [whole]
        return _Logged(body, self, environ, status)

    def write(self, environ: dict[str, Any], status: list[str], sent: int) -> None:
        query = environ.get("QUERY_STRING")
        path = quote(environ.get("PATH_INFO", "").encode("latin-1"), safe=_PATH_SAFE)
        line = (f'{environ.get("REMOTE_ADDR") or "-"} - - {self._stamp(time.time())} '
                f'"{environ.get("REQUEST_METHOD", "-")} {path}{"?" + query if query else ""} '
                f'{environ.get("SERVER_PROTOCOL", "-")}" {status[0]} {sent} '
                f'"{_field(environ.get("HTTP_REFERER"))}" "{_field(environ.get("HTTP_USER_AGENT"))}"\n')
        with self._lock:
            self._file.write(line)


def _field(value: str | None) -> str:
    """A header as a quoted field of the line: ``-`` when absent, quotes and control characters escaped."""
    if not value:
        return "-"
    if '"' in value or "\\" in value or not value.isprintable():
        return value.encode("unicode_escape").decode("ascii").replace('"', '\\"')
    return value
