"""HMACs of a large file's identifiers in a second process, so that they run on the other core while the main
thread validates the batch (hashlib holds the GIL for inputs this small, so a thread would not help).

The child is a bare interpreter (``-I -S``: no site packages, nothing else imported) reading requests on stdin and
answering 32-byte digests on stdout. The key block travels on the pipe, never on the command line. Requests and
answers alternate strictly (one request outstanding at a time), so neither side can block the other.
"""

from __future__ import annotations

import struct
import subprocess
import sys

import numpy as np
import pyarrow as pa

__all__ = ["HmacWorker"]

_CHILD = r"""
import hashlib, struct, sys
rd, wr = sys.stdin.buffer, sys.stdout.buffer
def exact(n):
    b = rd.read(n)
    if len(b) != n:
        sys.exit(0)
    return b
block = exact(64)
ipad = hashlib.sha256(bytes(b ^ 0x36 for b in block))
opad = hashlib.sha256(bytes(b ^ 0x5C for b in block))
states = {}
while True:
    head = rd.read(12)
    if len(head) < 12:
        break
    plen, n, dlen = struct.unpack("<III", head)
    prefix = exact(plen)
    offs = struct.unpack("<%di" % (n + 1), exact(4 * (n + 1)))
    data = exact(dlen)
    if prefix not in states:
        inner = ipad.copy()
        inner.update(prefix)
        states[prefix] = inner
    ic, oc = states[prefix].copy, opad.copy
    out = []
    for i in range(n):
        h = ic()
        h.update(data[offs[i]:offs[i + 1]])
        o = oc()
        o.update(h.digest())
        out.append(o.digest())
    wr.write(b"".join(out))
    wr.flush()
"""


class HmacWorker:
    """One child process computing HMAC-SHA256 with a fixed key block (64 bytes, RFC 2104 padded key)."""

    def __init__(self, key_block: bytes) -> None:
        if len(key_block) != 64:
            raise ValueError("the key block is the 64-byte padded key")
        self._proc = subprocess.Popen([sys.executable, "-I", "-S", "-c", _CHILD], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, bufsize=0)
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._in, self._out = self._proc.stdin, self._proc.stdout
        self._in.write(key_block)
        self.pending: int | None = None

    def submit(self, prefix: bytes, values: pa.Array) -> None:
        """Send the values (a string array without nulls) for HMAC(key, prefix ‖ value)."""
        if self.pending is not None:
            raise RuntimeError("one request at a time")
        if not pa.types.is_string(values.type):
            values = values.cast(pa.string())
        n = len(values)
        _, off_buf, data_buf = values.buffers()
        offs = np.frombuffer(off_buf, dtype=np.int32)[values.offset: values.offset + n + 1]
        start, end = int(offs[0]), int(offs[-1])
        rel = (offs - start).astype("<i4")
        data = memoryview(data_buf)[start:end] if data_buf is not None else b""
        self._in.write(struct.pack("<III", len(prefix), n, end - start) + prefix + rel.tobytes())
        self._in.write(data)
        self.pending = n

    def result(self) -> np.ndarray:
        """The digests of the last request, as an (n, 32) uint8 array."""
        n, self.pending = self.pending, None
        if n is None:
            raise RuntimeError("no request outstanding")
        want = 32 * n
        chunks, got = [], 0
        while got < want:
            b = self._out.read(want - got)
            if not b:
                raise RuntimeError(f"the HMAC worker stopped (exit status {self._proc.poll()})")
            chunks.append(b)
            got += len(b)
        return np.frombuffer(b"".join(chunks), dtype=np.uint8).reshape(n, 32)

    def close(self) -> None:
        try:
            self._in.close()
        except OSError:
            pass
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._out.close()
