"""``tinytx demo``: a sample model (``--sample radar``, what `make demo` runs) or the
EEGFormer-shaped MHSA block on the emulated Cortex-M4."""

from __future__ import annotations

import argparse
from pathlib import Path

from tinytx.cli import checks
from tinytx.cli.output import inf, progress
from tinytx.core.errors import UserInputError
from tinytx.core.resources import BUILD_DIR_HELP, resolve_build_dir


def add_parser(sub: argparse._SubParsersAction, name: str, help_text: str) -> None:
    p = sub.add_parser(
        name,
        help=help_text,
        description=help_text + ": build the mhsa_bench sample, run it in QEMU, check it "
        "against the golden model, count its instructions and report its memory. With "
        "--sample (make demo: --sample radar): convert that sample's ONNX model, build it "
        "for the emulated board profile (default nucleo_l476rg_emu), run its test inputs in "
        "QEMU and print the classifications, figures and memory.",
    )
    p.add_argument(
        "--sample",
        choices=["radar", "eeg", "ecg"],
        help="run a sample model end to end instead of the MHSA block",
    )
    p.add_argument("--target", default="m4", help="emulated target (default: m4)")
    p.add_argument("--kernels", choices=["ref", "arm"], help="kernel variant (default: arm)")
    p.add_argument("--seed", type=checks.seed, default=7, help="seed of the random model and input")
    p.add_argument(
        "--board",
        help="board of boards/boards.yaml (e.g. nucleo_l476rg) or its emulated profile"
        " (nucleo_l476rg_emu): the profile's QEMU target, linked with its memory, reported"
        " against its limits (replaces --target)",
    )
    p.add_argument(
        "--weights-image",
        action="store_true",
        help="with --board: read the weights from a weight image (tinytx weights-hex) loaded"
        " into the board's weights partition instead of linking them",
    )
    p.add_argument("--build-dir", type=Path, help=BUILD_DIR_HELP)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    args.build_dir = resolve_build_dir(args.build_dir)
    checks.build_dir(args.build_dir)
    from tinytx.toolchain.demo import SAMPLE_BOARD, run_demo, run_sample_demo

    checks.target(args.target)
    if args.board is not None:
        from tinytx.core.boards import emulated_profile

        args.board = emulated_profile(args.board).name  # a real board runs its profile

    if args.sample is not None:
        if args.weights_image or args.target != "m4":
            raise UserInputError("--sample: runs on --board (an emulated profile), not --target")
        return run_sample_demo(
            args.sample, args.board or SAMPLE_BOARD, args.build_dir, args.kernels, progress, inf
        )

    return run_demo(
        args.target,
        args.seed,
        args.build_dir,
        args.kernels,
        args.board,
        args.weights_image,
        progress,
        inf,
    )
