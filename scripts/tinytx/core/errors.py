"""Errors the user can act on: the CLI prints them as one line, without a traceback."""


class TinytxError(Exception):
    """Base of user-facing errors (bad input, missing tool, failed build or run)."""
