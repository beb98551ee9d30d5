"""Atomic file writes and an inter-process lock, so a crash never leaves a half-written file."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


@contextlib.contextmanager
def atomic_path(path: Path, suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; renamed onto ``path`` only if the block succeeds.

    The temporary name starts with a dot and ends in ``suffix``, so globs for real files never see it. The
    writer holds an ``flock`` on it until the rename: the kernel drops it if the writer is killed, which is
    how ``clean_stale_temps`` tells a dead writer's leftover from a live writer's file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _claimed_temp(path, suffix)
    try:
        try:
            yield Path(tmp)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
    finally:
        os.close(fd)  # releases the claim
    _fsync_dir(path.parent)


def _claimed_temp(path: Path, suffix: str) -> tuple[int, str]:
    """``mkstemp`` beside ``path``, locked; made again if a cleaner removed it before the lock was taken."""
    while True:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
        fcntl.flock(fd, fcntl.LOCK_EX)
        if os.fstat(fd).st_nlink:  # still linked: no cleaner can take it from here on
            os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; a library file should read like any other
            return fd, tmp
        os.close(fd)


def clean_stale_temps(folder: Path, suffix: str = ".tmp") -> list[Path]:
    """Remove the temporary files killed writers left in ``folder``; return them.

    Only names ``atomic_path`` makes (``.NAME.XXXXXXXX`` + ``suffix``), only regular files, and only those no
    live writer holds: a file whose ``flock`` is taken is being written and stays.
    """
    pattern = re.compile(r"\..+\.[a-z0-9_]{8}" + re.escape(suffix))
    removed: list[Path] = []
    try:
        names = [e.name for e in os.scandir(folder) if pattern.fullmatch(e.name)]
    except (FileNotFoundError, NotADirectoryError):
        return removed
    for name in names:
        path = Path(folder) / name
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:  # gone meanwhile, or a symlink: not ours
            continue
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # a live writer holds it
                continue
            if os.stat(path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino:
                os.unlink(path)
                removed.append(path)
        except FileNotFoundError:  # renamed onto its target meanwhile
            continue
        finally:
            os.close(fd)
    return removed


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """A binary file handle whose content replaces ``path`` all at once (flushed and fsynced) on success."""
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        yield handle
        handle.flush()
        os.fsync(handle.fileno())


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a mix."""
    with atomic_file(path) as handle:
        handle.write(data)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``path`` (created if missing) for the block."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
