"""Errors of the memory report: one line for the user, never a traceback."""

from tinytx.core.errors import TinytxError


class ReportError(TinytxError):
    """The ELF, map or board data cannot be used (damaged, wrong kind, mismatched)."""
