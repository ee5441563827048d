"""``tinytx accuracy``: measure the integer softmax, LayerNorm and GELU against float."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tinytx.cli import checks
from tinytx.cli.checks import write_output
from tinytx.cli.output import inf, out
from tinytx.core.accuracy import format_table, measure_all


def add_parser(sub: argparse._SubParsersAction, name: str, help_text: str) -> None:
    p = sub.add_parser(
        name,
        help=help_text,
        description=help_text
        + ". Prints a markdown table; the inputs are fixed and seeded (see tinytx.core.accuracy).",
    )
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    checks.output_file(args.json, "--json")
    results = measure_all()
    out(format_table(results), end="")
    if args.json is not None:
        doc = {"results": [r.as_dict() for r in results]}
        write_output(args.json, json.dumps(doc, indent=2) + "\n", "--json")
        inf(f"wrote {len(results)} results to {args.json}")
    return 0
