"""The command line shared by ``tinytx`` and ``west tinytx`` (top layer)."""

from tinytx.cli.app import COMMANDS, build_parser, main

__all__ = ["COMMANDS", "build_parser", "main"]
