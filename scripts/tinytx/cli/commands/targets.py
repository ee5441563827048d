"""``tinytx targets``: list the build and emulation targets."""

from __future__ import annotations

import argparse

from tinytx.core.resources import find_data_root
from tinytx.core.targets import load_targets


def add_parser(sub: argparse._SubParsersAction, name: str, help_text: str) -> None:
    p = sub.add_parser(name, help=help_text, description=help_text)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    for t in load_targets().values():
        print(f"{t.name:<10} {t.description}")
    # Where the boards, kernels and samples come from: an installed wheel's package data
    # or a checkout.
    print(find_data_root().describe())
    return 0
