"""The drop folder: ``<node dir>/depot/<dataset id>/``. A file that appears there is ingested once, then moved to
``done/`` or, refused, to ``quarantine/`` next to its ``.report.json``.

Several processes may scan the same folder (each worker of ``passerelle serve`` runs a watcher): a file is *claimed* by renaming it
into ``.claimed/<pid>-<uuid>`` (atomic on one file system), so exactly one scanner gets it; the others see it gone.
The file's own name is kept in a sidecar written before the claim. A claim whose process has died (a crash or a
SIGKILL mid-ingestion) is put back by the next scan and processed again; the pipeline makes that retry idempotent.

Files still being written are left alone: names starting with ``.`` or ending ``.part``/``.tmp``/``.crdownload``/``~``,
and files modified less than ``min_age`` seconds ago (by the node's clock). Copy into the folder under a temporary
name and rename when done, or wait ``min_age``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import uuid
from pathlib import Path
from typing import Any

from connector.collection.pipeline import Submission, collect
from connector.collection.settings import collected_datasets, dataset_paths, magic_suffix

__all__ = ["process_drop_folder", "process_drop_folders", "DropFolderWatcher", "MIN_AGE", "MAX_TRIES"]

MIN_AGE = 5.0  # seconds a file must be left untouched before it is taken
MAX_TRIES = 3  # a file whose processing fails (not refused: failed) this many times is set aside in quarantine/
_BUSY_SUFFIXES = (".part", ".tmp", ".crdownload", "~")
_CLAIMED, _DONE, _QUARANTINE = ".claimed", "done", "quarantine"
log = logging.getLogger("passerelle.collection")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _component(name: str, limit: int = 160) -> str:
    """A file name usable as one path component under done/ or quarantine/ (the client's name is only a label)."""
    safe = re.sub(r"[\x00-\x1f\x7f/\\]", "_", name).lstrip(".") or "fichier"
    while len(safe.encode("utf-8")) > limit:
        safe = safe[:-1]
    return safe


def _recover(folder: Path) -> int:
    """Put back the files claimed by processes that died before finishing them."""
    claimed = folder / _CLAIMED
    count = 0
    if not claimed.is_dir():
        return 0
    for side in claimed.glob("*.json"):
        token = side.stem
        pid = int(token.split("-", 1)[0]) if token.split("-", 1)[0].isdigit() else 0
        if pid and _alive(pid):
            continue
        data = next((p for p in claimed.glob(token + ".*") if p.suffix != ".json"), claimed / token)
        try:
            name = json.loads(side.read_text(encoding="utf-8")).get("name") or token
        except (OSError, ValueError):
            name = token
        if data.exists():
            back = folder / _component(name)
            if back.exists():
                back = folder / f"{token[-8:]}-{_component(name)}"
            try:
                os.rename(data, back)
                count += 1
            except FileNotFoundError:
                continue  # another scanner recovered it first
        side.unlink(missing_ok=True)
    return count


def _claim(folder: Path, name: str) -> tuple[Path, Path] | None:
    claimed = folder / _CLAIMED
    token = f"{os.getpid()}-{uuid.uuid4().hex}"
    side = claimed / f"{token}.json"
    try:
        suffix = magic_suffix(folder / name)
    except FileNotFoundError:  # another process claimed it first
        return None
    side.write_text(json.dumps({"name": name}, ensure_ascii=False), encoding="utf-8")
    try:
        os.rename(folder / name, claimed / (token + suffix))
    except FileNotFoundError:
        side.unlink(missing_ok=True)
        return None
    return claimed / (token + suffix), side


def _count_failure(folder: Path, name: str) -> int:
    path = folder / ".failures.json"
    try:
        counts = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        counts = {}
    counts[name] = int(counts.get(name, 0)) + 1
    path.write_text(json.dumps(counts, ensure_ascii=False), encoding="utf-8")
    return counts[name]


def _clear_failures(folder: Path, name: str) -> None:
    path = folder / ".failures.json"
    if path.exists():
        try:
            counts = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            counts = {}
        if counts.pop(name, None) is not None:
            path.write_text(json.dumps(counts, ensure_ascii=False), encoding="utf-8")


def process_drop_folder(node: Any, identifier: str, *, min_age: float = MIN_AGE,
                        service: Any = None) -> list[Submission]:
    """Process once every file waiting in the dataset's drop folder; returns the submissions made."""
    folder = dataset_paths(node, identifier).drop
    for sub in (_CLAIMED, _DONE, _QUARANTINE):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    _recover(folder)
    now = node.clock.now()
    out: list[Submission] = []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        name = entry.name
        if name.startswith(".") or name.endswith(_BUSY_SUFFIXES) or not entry.is_file(follow_symlinks=False):
            continue  # directories, symbolic links, files being written
        try:
            if min_age > 0 and now - entry.stat(follow_symlinks=False).st_mtime < min_age:
                continue
        except FileNotFoundError:
            continue
        claim = _claim(folder, name)
        if claim is None:
            continue
        data, side = claim
        try:
            sub = collect(node, identifier, data, original_name=name, via="depot", service=service)
        except BaseException as e:  # not the file's fault (disk, database): give it back for the next scan …
            tries = _count_failure(folder, name)
            if tries < MAX_TRIES:
                os.rename(data, folder / name)
            else:  # … unless it failed MAX_TRIES times: then it waits in quarantine with the error
                target = folder / _QUARANTINE / f"{uuid.uuid4().hex[:8]}-{_component(name)}"
                os.replace(data, target)
                target.with_name(target.name + ".report.json").write_text(json.dumps(
                    {"original_name": name, "status": "rejected", "message": f"processing failed {tries} times: "
                     f"{type(e).__name__}: {e}"}, ensure_ascii=False, indent=1), encoding="utf-8")
            side.unlink(missing_ok=True)
            raise
        _clear_failures(folder, name)
        stamp = sub.id
        if sub.ok:
            os.replace(data, folder / _DONE / f"{stamp}-{_component(name)}")
        else:
            target = folder / _QUARANTINE / f"{stamp}-{_component(name)}"
            os.replace(data, target)
            doc = sub.to_dict()
            target.with_name(target.name + ".report.json").write_text(
                json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
        side.unlink(missing_ok=True)
        log.info("drop folder %s: %s → %s", identifier, name, sub.status)
        out.append(sub)
    return out


def process_drop_folders(node: Any, *, min_age: float = MIN_AGE, service: Any = None) -> list[Submission]:
    """Process once the drop folder of every dataset that declares a table schema."""
    out: list[Submission] = []
    for identifier in collected_datasets(node):
        out += process_drop_folder(node, identifier, min_age=min_age, service=service)
    return out


class DropFolderWatcher:
    """Scans the drop folders every ``interval`` seconds in a daemon thread (one per worker process)."""

    def __init__(self, node: Any, *, interval: float = 2.0, min_age: float = MIN_AGE, service: Any = None) -> None:
        self.node, self.interval, self.min_age, self.service = node, interval, min_age, service
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.pid = os.getpid()

    def tick(self) -> list[Submission]:
        try:
            return process_drop_folders(self.node, min_age=self.min_age, service=self.service)
        except Exception:  # a bad folder must not stop the watcher; the next tick tries again
            log.exception("drop folder scan failed")
            return []

    def start(self) -> "DropFolderWatcher":
        self._thread = threading.Thread(target=self._run, name="passerelle-depot", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.tick()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
