"""Checks of command-line options made before a command starts its long work (conversion,
build, emulation), so that a bad option fails in a second with one line, not after the run;
and the writers of the files those options name (atomic, see tinytx.core.atomic)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

from tinytx.core.atomic import check_dir_dest, check_file_dest, write_text
from tinytx.core.errors import PathError, UserInputError


@contextlib.contextmanager
def writing(path: Path | str, option: str) -> Iterator[None]:
    """An OSError in the block becomes one line naming ``option``, the path and the reason."""
    try:
        yield
    except PathError as exc:
        if exc.args and str(exc).startswith(f"{option}:"):
            raise
        raise PathError(exc.path, exc.reason, option) from None
    except OSError as exc:
        raise PathError.from_os(exc, exc.filename or path, option) from None


def write_output(path: Path | str, text: str, option: str) -> None:
    """``text`` to the file ``path`` named by ``option``, atomically."""
    with writing(path, option):
        write_text(Path(path), text)


def seed(text: str) -> int:
    """argparse type of the ``--seed`` options: an integer >= 0 (numpy's seeds)."""
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def output_file(path: Path | str | None, option: str) -> None:
    """``path`` (when given) can be written as a file."""
    if path is None:
        return
    if str(path) == "":
        raise UserInputError(f"{option}: needs a file name")
    check_file_dest(Path(path), option)


def json_dest(dest: str | None, option: str = "--json") -> None:
    """A ``--json`` destination: None (not asked), ``-`` (stdout) or a writable file."""
    if dest is None or dest == "-":
        return
    if dest == "":
        raise UserInputError(f"{option}: needs a file name or -")
    check_file_dest(Path(dest), option)


def output_dir(path: Path, option: str, owned: Callable[[Path], bool] | None = None) -> None:
    """``path`` can be (re)written as a directory (see core.atomic.check_dir_dest)."""
    check_dir_dest(Path(path), owned, option)


def build_dir(path: Path, option: str = "--build-dir") -> None:
    """A build directory (reused between runs, so it may hold anything): not a file, and
    it or its nearest existing ancestor is a writable directory."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise PathError(path, "is a file, expected a directory", option)
    check_dir_dest(path, owned=lambda _: True, what=option)


def input_file(path: Path | None, option: str) -> None:
    """``path`` (when given) is an existing, readable file."""
    if path is None:
        return
    path = Path(path)
    if path.is_dir():
        raise UserInputError(f"{option}: {path}: is a directory, expected a file")
    if not path.is_file():
        raise UserInputError(f"{option}: {path}: no such file")
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise UserInputError(f"{option}: {path}: {exc.strerror or exc}") from None


def board(name: str | None, option: str = "--board") -> None:
    """``name`` (when given) is a board of boards/boards.yaml."""
    if name is None:
        return
    from tinytx.core.boards import load_boards

    boards = load_boards()
    if name not in boards:
        raise UserInputError(f"{option}: unknown board {name!r}; known: {', '.join(boards)}")


def target(name: str | None, option: str = "--target") -> None:
    """``name`` (when given) is a target of targets.yaml."""
    if name is None:
        return
    from tinytx.core.targets import load_targets

    targets = load_targets()
    if name not in targets:
        raise UserInputError(f"{option}: unknown target {name!r}; known: {', '.join(targets)}")
