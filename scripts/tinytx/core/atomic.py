"""Outputs that are never half-written.

:func:`write_text` / :func:`write_bytes` / :func:`open_atomic` write a file into a temporary
sibling, flush and fsync it, and move it over the destination with :func:`os.replace`
(atomic on POSIX and Windows within one directory). :func:`replace_dir` fills a temporary
sibling directory and swaps it in for the destination. On any exception, Ctrl-C included,
the temporary is removed and the destination is left as it was: the previous good output
or nothing.

A read-only destination file is refused (not replaced), also when running as root, where
the permission bits alone would not stop a write. A symbolic link is followed (its target
is replaced, the link stays); a destination that is not a regular file (``/dev/null``, a
FIFO, ``/dev/stdout``) is written in place, never replaced.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from tinytx.core.errors import PathError

_TMP = ".tmp-"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _special(path: Path) -> bool:
    """An existing destination that is neither a regular file nor a directory."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _target(path: Path) -> Path:
    """``path``, or the file a symbolic link at ``path`` points to."""
    path = Path(path)
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def check_file_dest(path: Path, what: str = "") -> None:
    """Raise :class:`PathError` unless ``path`` can be written as a file: its parent is an
    existing, writable directory and ``path`` is not a directory nor a read-only file."""
    path = Path(path)
    if path.is_dir():
        raise PathError(path, "is a directory, expected a file", what)
    if _special(path):
        if not os.access(path, os.W_OK):
            raise PathError(path, "Permission denied", what)
        return
    path = _target(path)
    _check_parent(path.parent, path, what)
    if path.exists() and not _writable_file(path):
        raise PathError(path, "read-only file (Permission denied)", what)


def check_dir_dest(path: Path, owned: Callable[[Path], bool] | None = None, what: str = "") -> None:
    """Raise :class:`PathError` unless ``path`` can be (re)written as a directory: not a
    file, its parent writable (or creatable), and, when it exists and is not empty, a
    directory ``owned`` accepts as a previous output of the same kind."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise PathError(path, "is a file, expected a directory", what)
    if path.is_dir() and any(path.iterdir()) and (owned is None or not owned(path)):
        raise PathError(
            path,
            "directory is not empty and is not a previous tinytx output "
            "(give a new or empty directory)",
            what,
        )
    _check_parent(path.parent, path, what)


def _check_parent(parent: Path, path: Path, what: str) -> None:
    ancestor = parent
    while not ancestor.exists():
        if ancestor.is_symlink():  # dangling
            raise PathError(ancestor, "dangling symbolic link", what)
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise PathError(path, f"{ancestor} is not a directory", what)
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise PathError(path, f"cannot write in {ancestor} (Permission denied)", what)


def _writable_file(path: Path) -> bool:
    mode = path.stat().st_mode
    return bool(stat.S_IMODE(mode) & 0o222) and os.access(path, os.W_OK)


def _named(exc: OSError, path: Path) -> PathError:
    """An OSError about a temporary (or the swap) as an error about the destination."""
    return PathError.from_os(exc, path)


def _make_parent(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise PathError(path, f"{path.parent} is not a directory") from None
    except OSError as exc:
        raise PathError.from_os(exc, path) from None


@contextlib.contextmanager
def open_atomic(path: Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """A file object that becomes ``path`` when the ``with`` block ends without error."""
    if "b" in mode:
        encoding = None
    with temp_path(path) as tmp, open(tmp, mode, encoding=encoding) as f:
        yield f


@contextlib.contextmanager
def temp_path(path: Path) -> Iterator[Path]:
    """A temporary sibling path (same suffix, so writers that infer a format from it, e.g.
    matplotlib's savefig, keep working) that replaces ``path`` when the block ends without
    error; for writers that take a path rather than a file object."""
    path = Path(path)
    if _special(path):
        yield path
        return
    path = _target(path)
    if path.is_dir():
        raise PathError(path, "is a directory, expected a file")
    if path.exists() and not _writable_file(path):
        raise PathError(path, "read-only file (Permission denied)")
    _make_parent(path)
    try:
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{path.stem}{_TMP}", suffix=path.suffix, dir=path.parent
        )
    except OSError as exc:
        raise _named(exc, path) from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        keep = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o666 & ~_umask()
        os.chmod(tmp, keep)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.filename is not None and str(exc.filename) != str(tmp):
            raise  # the writer's own error, e.g. about another file
        raise _named(exc, path) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str, encoding: str = "utf-8") -> Path:
    with open_atomic(path, "w", encoding) as f:
        f.write(text)
    return Path(path)


def write_bytes(path: Path, data: bytes) -> Path:
    with open_atomic(path, "wb") as f:
        f.write(data)
    return Path(path)


@contextlib.contextmanager
def replace_dir(path: Path, owned: Callable[[Path], bool] | None = None) -> Iterator[Path]:
    """A fresh temporary directory that replaces ``path`` (and all it held) when the ``with``
    block ends without error. An existing non-empty ``path`` must be ``owned`` (a previous
    output of the same kind); otherwise :class:`PathError` is raised before anything is
    written, and user files are never deleted.

    A symbolic link is followed (its target is replaced). The current directory, or one
    of its parents, cannot be swapped away from under the process: its files are replaced
    one by one instead (each atomically) and the previous files not written again are
    removed."""
    check_dir_dest(Path(path), owned)
    path = Path(path).resolve()
    _make_parent(path)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}{_TMP}", dir=path.parent))
    except OSError as exc:
        raise _named(exc, path) from None
    old: Path | None = None
    try:
        os.chmod(tmp, stat.S_IMODE(path.stat().st_mode) if path.is_dir() else 0o777 & ~_umask())
        yield tmp
        for f in tmp.iterdir():
            if f.is_file():
                with open(f, "rb") as fh:
                    os.fsync(fh.fileno())
        if path.is_dir() and _holds_cwd(path):
            _replace_files(tmp, path)
        elif path.is_dir():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=path.parent))
            os.replace(path, old / "d")
            try:
                os.replace(tmp, path)
            except BaseException:
                os.replace(old / "d", path)  # put the previous output back
                raise
        else:
            os.replace(tmp, path)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        named = exc.filename is None or str(exc.filename).startswith(str(tmp))
        raise (_named(exc, path) if named else exc) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _holds_cwd(path: Path) -> bool:
    try:
        cwd = Path.cwd().resolve()
    except OSError:
        return False
    return cwd == path or path in cwd.parents


def _replace_files(src: Path, dest: Path) -> None:
    """Move every file of ``src`` over ``dest`` (one os.replace each), then remove the files
    of ``dest`` that ``src`` did not have (a previous output's, checked by the caller)."""
    names = {f.name for f in src.iterdir()}
    for name in sorted(names):
        os.replace(src / name, dest / name)
    for f in dest.iterdir():
        if f.name not in names and (f.is_file() or f.is_symlink()):
            f.unlink()
