"""Batches on disk, one file each, that outlive the process.

Each batch is an OTLP protobuf request (``ExportMetricsServiceRequest``, by the project's own
encoder so summaries and flags survive, or ``ExportLogsServiceRequest``; see
:class:`~exporters.delivery.BatchKind`) written to a temporary name, fsynced, then renamed into place
and the directory fsynced: after a crash a file is either complete or absent. The file name
carries everything needed without reading the file: a sequence number (replay order), the
number of data points or log records (what dropping it costs) and the batch id (the insert token):
``00000000000000000042-1500-<uuid>.otlp``.

A lock file keeps two processes from draining the same directory (both would deliver every
batch); the kernel releases it when its holder dies, even by SIGKILL. A write that fails
(a full disk) removes its partial ``.incoming-*`` file at once; opening removes any left by
a crash. Batches the store refused as data are moved to ``quarantine/`` inside the
directory, for an operator to inspect; they are never replayed.
"""

from __future__ import annotations

import fcntl
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from typing import Any

from omni_core.errors import ConfigError, SpoolCorrupt

from ._kinds import METRIC_BATCHES, BatchKind

__all__ = ["Spool", "SpoolEntry", "SpoolCorrupt"]


_NAME = re.compile(r"^(?P<seq>\d{20})-(?P<points>\d+)-(?P<batch_id>[0-9A-Za-z-]{1,64})\.otlp$")
_TMP_PREFIX = ".incoming-"


@dataclass(frozen=True)
class SpoolEntry:
    seq: int
    batch_id: str
    points: int
    size_bytes: int
    path: Path


class Spool:
    """One spool directory, locked for this process while open, holding batches of one ``kind``."""

    def __init__(self, directory: Path | str, kind: BatchKind[Any] = METRIC_BATCHES) -> None:
        self.directory = Path(directory)
        self.kind = kind
        self._lock_fd: int | None = None
        self._next_seq = 0
        self._seq_lock = threading.Lock()

    @property
    def quarantine_directory(self) -> Path:
        return self.directory / "quarantine"

    def open(self) -> list[SpoolEntry]:
        """Lock the directory and list what a previous run left, oldest first."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise ConfigError(f"cannot use spool directory {self.directory}: {exc.strerror}", field="spool_dir") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ConfigError(
                f"spool directory {self.directory} is in use by another process; give each process its own",
                field="spool_dir",
            ) from None
        self._lock_fd = fd
        entries = []
        for path in self.directory.iterdir():
            if path.name.startswith(_TMP_PREFIX):
                # A write interrupted before its rename: never acknowledged as spooled.
                path.unlink(missing_ok=True)
                continue
            match = _NAME.match(path.name)
            if match is None:
                continue
            entries.append(
                SpoolEntry(int(match["seq"]), match["batch_id"], int(match["points"]), path.stat().st_size, path)
            )
        entries.sort(key=lambda entry: entry.seq)
        self._next_seq = entries[-1].seq + 1 if entries else 0
        return entries

    def close(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def write(self, batch_id: str, points: int, batch: Any) -> SpoolEntry:
        """Persist one batch durably; raises ``OSError`` (leaving nothing behind) when the disk refuses.

        Safe to call from several threads: each write gets its own sequence number and file.
        """
        payload = self.kind.encode(batch)
        with self._seq_lock:
            seq = self._next_seq
            self._next_seq += 1
        final = self.directory / f"{seq:020d}-{points}-{batch_id}.otlp"
        _write_durably(final, payload)
        self._fsync_directory()
        return SpoolEntry(seq, batch_id, points, len(payload), final)

    def quarantine(self, batch_id: str, points: int, batch: Any | None, entry: SpoolEntry | None) -> Path:
        """Set a refused batch aside under ``quarantine/``: move its spool file, or write it there."""
        target_dir = self.quarantine_directory
        target_dir.mkdir(exist_ok=True)
        if entry is not None:
            target = target_dir / entry.path.name
            os.rename(entry.path, target)
        else:
            assert batch is not None
            target = target_dir / f"{batch_id}-{points}.otlp"
            _write_durably(target, self.kind.encode(batch))
        self._fsync_directory()
        return target

    def quarantine_bytes(self) -> int:
        directory = self.quarantine_directory
        if not directory.is_dir():
            return 0
        return sum(path.stat().st_size for path in directory.iterdir() if path.is_file())

    def read(self, entry: SpoolEntry) -> Any:
        try:
            payload = entry.path.read_bytes()
            return self.kind.decode(payload)
        except Exception as exc:  # noqa: BLE001 - any parse failure means the same thing here
            entry.path.rename(entry.path.with_name(entry.path.name + ".corrupt"))
            raise SpoolCorrupt(f"spooled batch {entry.path.name} cannot be read ({exc}); set aside as .corrupt") from exc

    def remove(self, entry: SpoolEntry) -> None:
        entry.path.unlink(missing_ok=True)

    def _fsync_directory(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_durably(final: Path, payload: bytes) -> None:
    """Write to a temporary name, fsync, rename: ``final`` is complete or absent, never partial."""
    temporary = final.with_name(f"{_TMP_PREFIX}{final.name}")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(temporary, final)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
