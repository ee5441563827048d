"""``tinytx convert``: an int8 QDQ ONNX model to model.c / model.h for a board."""

from __future__ import annotations

import argparse
from pathlib import Path

from tinytx.cli import checks
from tinytx.cli.output import inf
from tinytx.core.errors import UserInputError


def add_sparse_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--sparse",
        choices=["auto", "off", "block4", "unstructured"],
        default="auto",
        help="weights storage of linear and conv2d layers: auto (the default) stores a "
        "layer's weights sparse where that saves flash and is not slower; off: all dense; "
        "block4 / unstructured: that format wherever the kernels' limit allows",
    )


def add_tflite_arith_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--tflite-arith",
        choices=["match", "fast"],
        default="match",
        help=".tflite models: match (the default) computes the LayerNorms and attention "
        "blocks in TFLite's own int8 steps, equal to the TFLite interpreter; fast uses "
        "tinytx's one-step LayerNorm and fused attention (fewer instructions, less RAM, "
        "outputs a few LSB from the interpreter's)",
    )


def add_options(p: argparse.ArgumentParser) -> None:
    """Planning options shared by ``convert``, ``run`` and ``demo``."""
    p.add_argument(
        "--name",
        help="model name of the C symbols and files (<name>.c/.h; default: from the file "
        "name, files model.c/model.h)",
    )
    p.add_argument(
        "--mhsa",
        choices=["auto", "layerwise", "dft"],
        default="auto",
        help="attention schedule: layer-wise when it fits the board's RAM, else depth-first "
        "tiled (auto, the default), or forced",
    )
    p.add_argument("--tile", type=int, help="force depth-first tiles of this many query rows")
    p.add_argument(
        "--fwsa",
        choices=["auto", "on", "off"],
        default="auto",
        help="fused-weight attention: auto fuses when P >= E and calibration inputs are given",
    )
    p.add_argument("--calibration", type=Path, help=".npz of inputs ('float' or 'int8') for FWSA")
    add_sparse_option(p)
    add_tflite_arith_option(p)
    p.add_argument(
        "--inputs",
        type=Path,
        help="test inputs .npz ('float' or 'int8' [count, *input shape]); default: "
        "test_inputs.npz next to the model",
    )
    p.add_argument("--reserve", type=int, help="bytes of the board's RAM kept out of the arena")
    p.add_argument(
        "--cores",
        type=int,
        metavar="N",
        help="cores the firmware runs its kernels on (tinytx_parallel_num_cores(), "
        "1..TINYTX_PARALLEL_SERIAL_MAX_CORES): the riscv kernels' scratch is planned for N "
        "(default: the board's or target's, else 1)",
    )


def add_parser(sub: argparse._SubParsersAction, name: str, help_text: str) -> None:
    p = sub.add_parser(
        name,
        help=help_text,
        description=help_text + ". Writes <dir>/model.c, model.h, plan.txt and, when the "
        "model has test inputs, test_data.c/.h (with --name kws: kws.c, kws.h, "
        "kws_test_data.c/.h). Exit 0: written; 1: the model does not fit "
        "the board (the numbers are printed); 2: the model cannot be converted. See "
        "docs/user-guide.md.",
    )
    p.add_argument("model", type=Path, help="int8 QDQ .onnx file or full-integer int8 .tflite file")
    p.add_argument("-o", "--output", type=Path, required=True, help="output directory")
    p.add_argument("--board", help="board of boards/boards.yaml (RAM budget, flash)")
    p.add_argument(
        "--kernels",
        choices=["ref", "arm", "riscv"],
        help="kernel variant whose scratch sizes to plan (default: arm on Cortex-M4/M7 "
        "boards, else ref)",
    )
    add_options(p)
    p.set_defaults(func=run)


def options(args: argparse.Namespace):
    from tinytx.core.codegen.project import ConvertOptions

    return ConvertOptions(
        board=args.board,
        name=args.name,
        mhsa=args.mhsa,
        tile=args.tile,
        fwsa=args.fwsa,
        calibration=args.calibration,
        inputs=args.inputs,
        reserve=args.reserve,
        kernels=getattr(args, "kernels", None),
        cores=args.cores,
        sparse=getattr(args, "sparse", "auto"),
        tflite_arith=getattr(args, "tflite_arith", "match"),
    )


def check_options(args: argparse.Namespace) -> None:
    """The planning options' files and names, before any conversion."""
    checks.board(args.board)
    checks.input_file(args.calibration, "--calibration")
    checks.input_file(args.inputs, "--inputs")
    if args.reserve is not None and args.reserve < 0:
        raise UserInputError(f"--reserve: expected bytes >= 0, got {args.reserve}")


def run(args: argparse.Namespace) -> int:
    from tinytx.core.codegen.project import convert, is_conversion_output

    if not args.model.is_file():
        raise UserInputError(f"{args.model}: no such model file")
    checks.output_dir(args.output, "-o", owned=is_conversion_output)
    check_options(args)
    conv = convert(args.model, options(args))  # DoesNotFit: exit 1 with the numbers
    written = conv.write(args.output)
    inf(*conv.summary())
    inf("wrote " + ", ".join(str(p) for p in written))
    return 0
