"""The exit codes of every ``tinytx`` command (documented in docs/user-guide.md)."""

from __future__ import annotations

from enum import IntEnum

from tinytx.core.errors import DoesNotFit, Mismatch, TinytxError


class ExitCode(IntEnum):
    OK = 0
    #: the command ran, and the answer is no: the model does not fit the board, an output
    #: differs from the golden model, a count is over its budget
    FAILED = 1
    #: bad input or option: a model, file, path, option value, board/target/sample name,
    #: or a tool that is missing or fails (argparse's usage errors exit 2 as well)
    USAGE = 2
    #: a bug in tinytx: the traceback is printed, please report it
    INTERNAL = 3
    #: interrupted (Ctrl-C, SIGINT)
    INTERRUPTED = 130
    #: the reader of stdout went away (``tinytx ... | head``), as 128 + SIGPIPE
    BROKEN_PIPE = 141


def code_of(exc: TinytxError) -> ExitCode:
    """The exit code of a user-facing error."""
    if isinstance(exc, (DoesNotFit, Mismatch)):
        return ExitCode.FAILED
    return ExitCode.USAGE
