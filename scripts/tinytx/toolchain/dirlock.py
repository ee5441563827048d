"""Exclusive use of a build directory across processes.

Two commands started at once on the same sample would otherwise configure, write and
link into the same directory together (a half-written archive or model.c). The lock is
an advisory ``flock`` on a file beside the directory, so it survives the directory
being deleted and re-created, and the kernel releases it when a process dies.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def lock_path(directory: Path) -> Path:
    return directory.parent / f".{directory.name}.lock"


@contextmanager
def directory_lock(directory: Path) -> Iterator[None]:
    """Hold the lock of ``directory`` (waiting for another holder to finish)."""
    path = lock_path(directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
