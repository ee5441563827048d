# SPDX-License-Identifier: Apache-2.0
"""``west tinytx``: the tinytx command line, run from a west workspace.

The extension owns no options of its own. Every argument after ``west tinytx``
is handed unchanged to :func:`tinytx.cli.main`, so ``west tinytx <command> ...``
and ``tinytx <command> ...`` behave the same, and ``west tinytx --help`` prints
the tinytx help with its list of commands.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from textwrap import dedent
from types import ModuleType

from west.commands import WestCommand

# <repo>/scripts/west_commands/tinytx_west.py -> <repo>/scripts, the directory
# that holds the ``tinytx`` package (pyproject.toml installs it from there).
SCRIPTS_DIR = Path(__file__).resolve().parents[1]

SETUP_HINT = (
    "install tinytx and its dependencies into the Python that runs west: "
    "run `make setup`, or `pip install -e .` in the tinytx repository"
)


def _import_cli() -> ModuleType:
    """Import ``tinytx.cli``, falling back to this checkout's ``scripts/``.

    An installed ``tinytx`` (``pip install -e .``) is used when there is one;
    otherwise the package is imported from the repository this file lives in.
    A missing third-party dependency (numpy, ...) is not handled here: its
    ModuleNotFoundError reaches the caller.
    """
    try:
        return importlib.import_module("tinytx.cli")
    except ModuleNotFoundError as exc:
        if exc.name != "tinytx":
            raise
    sys.path.insert(0, str(SCRIPTS_DIR))
    importlib.invalidate_caches()
    return importlib.import_module("tinytx.cli")


class TinytxCommand(WestCommand):
    """Forward ``west tinytx ARGS...`` to ``tinytx.cli.main(ARGS)``."""

    def __init__(self) -> None:
        super().__init__(
            "tinytx",
            # One line, shown by `west --help`.
            "tinytx tooling (kernel tests, test vectors, demo, targets)",
            dedent(
                """\
                Run the tinytx command line inside a west workspace.

                All arguments are passed unchanged to the `tinytx` program
                (installed by `pip install -e .`), so `west tinytx <command>`
                is the same as `tinytx <command>`. Run `west tinytx --help`
                for the list of commands and `west tinytx <command> --help`
                for the options of one command.
                """
            ),
            # argparse puts an option that comes before the first positional
            # (e.g. `west tinytx --help`) among the unknown arguments instead
            # of the REMAINDER; accept those and put them back in front.
            accepts_unknown_args=True,
        )

    def do_add_parser(self, parser_adder) -> argparse.ArgumentParser:
        # add_help=False: -h/--help must reach tinytx's own parser, which
        # lists the tinytx commands, instead of describing this wrapper.
        parser = parser_adder.add_parser(
            self.name,
            help=self.help,
            description=self.description,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            add_help=False,
        )
        parser.add_argument(
            "tinytx_args",
            nargs=argparse.REMAINDER,
            metavar="<command> ...",
            help="tinytx command and its arguments (see `west tinytx --help`)",
        )
        return parser

    def do_run(self, args: argparse.Namespace, unknown: list[str]) -> None:
        # Unknown arguments can only come from before the first positional
        # (the REMAINDER takes everything after it), so this is the original
        # order of the command line.
        argv = [*unknown, *args.tinytx_args]
        try:
            cli = _import_cli()
            code = cli.main(argv)
        except ModuleNotFoundError as exc:
            missing = exc.name or str(exc)
            if missing.split(".")[0] == "tinytx":
                what = f"module '{missing}' of tinytx is missing (incomplete checkout or install)"
            else:
                what = f"Python module '{missing}' is missing"
            self.die(f"tinytx cannot run: {what}; {SETUP_HINT}.")
        # tinytx.cli.main returns an exit status (argparse itself raises
        # SystemExit for --help and usage errors, which west lets through).
        if code:
            sys.exit(int(code))
