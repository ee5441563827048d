"""Errors the user can act on: the CLI prints them as one line, without a traceback.

Every class here is a :class:`TinytxError`. The command line maps them to its exit codes
(``tinytx.cli.exitcodes``): :class:`DoesNotFit` and :class:`Mismatch` are outcomes of a
run that worked (exit 1); every other TinytxError means the command could not do its work
because of its input, its options, a path or a missing tool (exit 2). Any other exception
is a bug in tinytx.
"""

from __future__ import annotations

import os


class TinytxError(Exception):
    """Base of user-facing errors (bad input, missing tool, failed build or run)."""


class UserInputError(TinytxError, ValueError):
    """A bad input file, option value or name (a board, target or sample). Also a
    ValueError, so that code catching ValueError around a parser keeps working."""


class PathError(UserInputError):
    """A path that cannot be read or written: the message names it and the OS reason."""

    def __init__(self, path: os.PathLike[str] | str, reason: str, what: str = "") -> None:
        self.path = os.fspath(path)
        self.reason = reason
        prefix = f"{what}: " if what else ""
        super().__init__(f"{prefix}{self.path}: {reason}")

    @classmethod
    def from_os(
        cls, exc: OSError, path: os.PathLike[str] | str | None = None, what: str = ""
    ) -> PathError:
        """The one-line form of an OSError: the path and ``strerror`` (not the errno)."""
        where = path if path is not None else (exc.filename or "?")
        return cls(where, exc.strerror or str(exc), what)


class DoesNotFit(TinytxError):
    """The planned model does not fit the board (the CLI exits 1 with the numbers)."""


class Mismatch(TinytxError):
    """Outputs differ from the golden model, or a measured figure is outside its budget."""
