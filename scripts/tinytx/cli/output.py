"""What the ``tinytx`` commands print, in one place.

Conventions (docs/user-guide.md, "Output and exit codes"):

- results go to stdout: :func:`out` for machine-readable text (JSON, bare numbers,
  ``MATCH``), :func:`inf` for result lines a person reads;
- everything else goes to stderr: :func:`progress` and :func:`banner` for what a long
  command is doing, :func:`wrn` for warnings, :func:`err` for errors, :func:`die` for an
  error that ends the command with an exit code;
- warnings and errors are one line prefixed with the command (``tinytx convert: error:``);
- colour only when the stream is a terminal, and never with ``NO_COLOR`` set or
  ``TERM=dumb``.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from contextvars import ContextVar
from typing import NoReturn, TextIO

from tinytx.cli.exitcodes import ExitCode

_PROG: ContextVar[str] = ContextVar("tinytx_prog", default="tinytx")

BOLD = "1"
RED = "1;31"
YELLOW = "1;33"
GREEN = "1;32"


@contextlib.contextmanager
def command(name: str) -> Iterator[None]:
    """Messages inside the block are prefixed ``tinytx <name>:``."""
    token = _PROG.set(f"tinytx {name}")
    try:
        yield
    finally:
        _PROG.reset(token)


def prog() -> str:
    """``tinytx <command>`` of the command that runs (``tinytx`` outside one)."""
    return _PROG.get()


def use_color(stream: TextIO) -> bool:
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _paint(stream: TextIO, text: str, sgr: str | None) -> str:
    return f"\x1b[{sgr}m{text}\x1b[0m" if sgr and use_color(stream) else text


def _line(stream: TextIO, text: str, sgr: str | None = None) -> None:
    stream.write(_paint(stream, text, sgr) + "\n")
    stream.flush()


def out(text: str = "", end: str = "\n") -> None:
    """Machine-readable output on stdout, exactly as given (never coloured)."""
    sys.stdout.write(text + end)


def inf(*lines: str) -> None:
    """Result lines on stdout (as ``print``)."""
    for line in lines:
        sys.stdout.write(line + "\n")


def progress(msg: str) -> None:
    """What a long command is doing now, on stderr."""
    _line(sys.stderr, msg)


def banner(msg: str) -> None:
    """The heading of a step, on stderr (bold on a terminal)."""
    _line(sys.stderr, f"=== {msg}", BOLD)


def wrn(msg: str) -> None:
    _line(sys.stderr, f"{prog()}: warning: {msg}", YELLOW)


def err(msg: str) -> None:
    _line(sys.stderr, f"{prog()}: error: {msg}", RED)


def failed(msg: str) -> None:
    """A run that worked and whose answer is no (exit 1): does not fit, mismatch."""
    _line(sys.stderr, f"{prog()}: FAILED: {msg}", RED)


def die(code: ExitCode | int, msg: str) -> NoReturn:
    """Print ``msg`` as an error and end the command with ``code`` (raises SystemExit,
    so that ``with`` blocks, e.g. atomic outputs, clean up on the way out)."""
    err(msg)
    raise SystemExit(int(code))


def bug(version: str) -> None:
    """The line after the traceback of an internal error."""
    _line(
        sys.stderr,
        f"{prog()}: internal error (exit {int(ExitCode.INTERNAL)}): this is a bug in tinytx "
        f"{version}, not in your input; please report it to the tinytx maintainers with the "
        "command line and the traceback above",
        RED,
    )
