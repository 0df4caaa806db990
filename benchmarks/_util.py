"""Shared helpers for the benchmarks: tools from Debian's packages, free ports, process memory."""

from __future__ import annotations

import shutil
import socket
import subprocess

import psutil


def ensure_tool(binary: str, package: str) -> str:
    """Path of a command-line tool, installing its Debian package when missing (the benchmarks run as root)."""
    path = shutil.which(binary) or (f"/usr/sbin/{binary}" if shutil.which(f"/usr/sbin/{binary}") else None)
    if path:
        return path
    subprocess.run(["apt-get", "install", "-y", "-qq", package], check=False, capture_output=True)
    path = shutil.which(binary) or shutil.which(f"/usr/sbin/{binary}")
    if not path:
        subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", package], check=True, capture_output=True)
        path = shutil.which(binary) or shutil.which(f"/usr/sbin/{binary}")
    if not path:
        raise SystemExit(f"{binary} not available (Debian package {package})")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree_rss_mb(pid: int) -> dict[str, float]:
    """RSS of a process and of each of its children, in MB (10^6 bytes)."""
    p = psutil.Process(pid)
    out = {"master": p.memory_info().rss / 1e6}
    for i, c in enumerate(p.children(recursive=True)):
        out[f"worker{i}"] = c.memory_info().rss / 1e6
    return out
