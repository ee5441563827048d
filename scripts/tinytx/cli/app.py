"""Command-line interface shared by ``tinytx`` and ``west tinytx``.

Each subcommand lives in its own module under :mod:`tinytx.cli.commands` and exposes
``add_parser(subparsers)``; the module is imported only when its command runs.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Sequence

from tinytx import __version__
from tinytx.cli import output
from tinytx.cli.exitcodes import ExitCode, code_of
from tinytx.core.errors import PathError, TinytxError

# name -> (module, one-line help). Order is the order shown by --help.
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": (
        "tinytx.cli.commands.demo",
        "run a sample model (--sample radar: make demo) or the MHSA block on emulated Cortex-M",
    ),
    "convert": (
        "tinytx.cli.commands.convert",
        "convert an int8 QDQ ONNX model to model.c / model.h for a board",
    ),
    "run": (
        "tinytx.cli.commands.run",
        "run a converted model or a sample on an emulated board against the golden executor",
    ),
    "test-kernels": (
        "tinytx.cli.commands.test_kernels",
        "build and run the bit-exact kernel suites on host or an emulated target",
    ),
    "vectors": (
        "tinytx.cli.commands.vectors",
        "write seeded kernel test vectors from the golden model",
    ),
    "accuracy": (
        "tinytx.cli.commands.accuracy",
        "measure integer softmax/LayerNorm/GELU against float",
    ),
    "targets": ("tinytx.cli.commands.targets", "list the build/emulation targets"),
    "report": ("tinytx.cli.commands.report", "memory report of a firmware ELF (and map file)"),
    "weights-hex": (
        "tinytx.cli.commands.weights_hex",
        "write a model's weights as an Intel HEX image for a board's weights partition",
    ),
    "bench": (
        "tinytx.cli.commands.bench",
        "exact instructions and modelled cycles of each MHSA kernel on emulated Cortex-M",
    ),
    "plan": (
        "tinytx.cli.commands.plan",
        "memory plan of an attention block on a board: layer-wise vs depth-first tiled",
    ),
    "build": (
        "tinytx.cli.commands.build",
        "build a sample for a Zephyr board (west build) or an emulated profile (bare metal)",
    ),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tinytx",
        description="Deploy quantized Tiny Transformers on microcontrollers.",
        epilog="exit codes (every command): 0 ok; 1 does not fit or does not match; 2 bad "
        "input, option or path; 3 internal error (a bug: please report it); 130 interrupted. "
        "See docs/user-guide.md, 'Output and exit codes'.",
    )
    parser.add_argument("--version", action="version", version=f"tinytx {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="<command>")
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        module.add_parser(sub, name, help_text)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the exit code is one of :class:`ExitCode` (docs/user-guide.md)."""
    try:
        parser = build_parser()
        args = parser.parse_args(argv)  # usage errors and --help: SystemExit, as argparse does
    except KeyboardInterrupt:
        output.err("interrupted")
        return int(ExitCode.INTERRUPTED)
    except TinytxError as exc:  # e.g. a broken boards.yaml read for an option's choices
        output.err(str(exc))
        return int(code_of(exc))
    except Exception:
        return _internal_error()
    if args.command is None:
        parser.print_help()
        return int(ExitCode.USAGE)
    with output.command(args.command):
        return run_command(args)


def run_command(args: argparse.Namespace) -> int:
    """``args.func(args)`` with every way out mapped to an exit code and one line."""
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not at the interpreter's exit
        return code
    except TinytxError as exc:
        code = code_of(exc)
        (output.failed if code == ExitCode.FAILED else output.err)(str(exc))
        return int(code)
    except KeyboardInterrupt:
        output.err("interrupted")
        return int(ExitCode.INTERRUPTED)
    except SystemExit as exc:  # output.die
        if exc.code is None:
            return int(ExitCode.OK)
        if isinstance(exc.code, int):
            return exc.code
        output.err(str(exc.code))
        return int(ExitCode.USAGE)
    except BrokenPipeError:
        # the reader of stdout went away (`tinytx ... | head`): stop quietly, as `cat` does
        _silence_stdout()
        return int(ExitCode.BROKEN_PIPE)
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] == "tinytx":
            return _internal_error()  # an incomplete install or a bug: the traceback helps
        output.err(
            f"Python module '{exc.name}' is missing: install tinytx with its dependencies "
            "into this Python (`make setup`, or `pip install -e .` in the tinytx repository)"
        )
        return int(ExitCode.USAGE)
    except OSError as exc:
        if exc.filename is None:
            return _internal_error()
        output.err(str(PathError.from_os(exc)))
        return int(ExitCode.USAGE)
    except Exception:
        return _internal_error()


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's final flush does not fail."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    finally:
        os.close(devnull)


def _internal_error() -> int:
    traceback.print_exc()
    output.bug(__version__)
    return int(ExitCode.INTERNAL)


if __name__ == "__main__":
    sys.exit(main())
