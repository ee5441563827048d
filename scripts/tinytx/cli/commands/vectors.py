"""``tinytx vectors``: write seeded kernel test vectors from the golden model."""

from __future__ import annotations

import argparse
from pathlib import Path

from tinytx.cli import checks
from tinytx.cli.checks import writing
from tinytx.cli.output import inf
from tinytx.core.errors import UserInputError
from tinytx.toolchain import kernel_tests as kt


def add_parser(sub: argparse._SubParsersAction, name: str, help_text: str) -> None:
    p = sub.add_parser(
        name,
        help=help_text,
        description=help_text + " (format: scripts/tinytx/core/vectors/format.py).",
    )
    p.add_argument("-o", "--output", type=Path, required=True, help="vector file to write")
    p.add_argument("--seed", type=checks.seed, default=kt.DEFAULT_SEED)
    p.add_argument("--cases", type=int, default=kt.DEFAULT_CASES, help="cases per kernel")
    p.add_argument("--kernel", action="append", help="only this kernel (repeatable)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.cases < 1:
        raise UserInputError(f"--cases: must be >= 1, got {args.cases}")
    checks.output_file(args.output, "-o")
    with writing(args.output, "-o"):
        n = kt.write_vectors(args.output, args.seed, args.cases, args.kernel)
    inf(f"wrote {n} cases to {args.output}")
    return 0
