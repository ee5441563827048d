"""``tinytx weights-hex``: a model's weights as an Intel HEX weight image for a board."""

from __future__ import annotations

import argparse
from pathlib import Path

from tinytx.cli import checks
from tinytx.cli.checks import writing
from tinytx.cli.output import inf
from tinytx.core.errors import UserInputError


def add_parser(sub: argparse._SubParsersAction, name: str, help_text: str) -> None:
    p = sub.add_parser(
        name,
        help=help_text,
        description=help_text + ". The image is a 48-byte header (magic TTXW, format version,"
        " SHA-256 model hash, payload length, CRC-32) followed by the tensors; firmware built"
        " to read weights from the partition checks all of it (docs/memory-report.md).",
    )
    p.add_argument("--board", required=True, help="board of boards/boards.yaml (its partition)")
    p.add_argument("-o", "--output", type=Path, required=True, help="Intel HEX file to write")
    src = p.add_mutually_exclusive_group()
    src.add_argument(
        "--demo-seed",
        type=checks.seed,
        metavar="SEED",
        help="the mhsa_bench model of `tinytx demo --seed SEED` (default: 7)",
    )
    src.add_argument(
        "--npz",
        type=Path,
        metavar="FILE",
        help="integer tensors of a .npz file, in its order (with --model)",
    )
    p.add_argument("--model", help="model name recorded in the hash (with --npz)")
    p.add_argument(
        "--address",
        type=_address,
        help="override the partition address (0x0..0xffffffff; the partition must fit below 4 GiB)",
    )
    p.set_defaults(func=run)


def _address(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an address: {text!r} (e.g. 0x08100000)") from None
    if not 0 <= value < 1 << 32:
        raise argparse.ArgumentTypeError(f"{text} is outside the 32-bit address space")
    return value


def _payload(args: argparse.Namespace):
    from tinytx.core.weights_image import pack_tensors

    if args.npz is not None:
        import numpy as np

        if not args.model:
            raise UserInputError("--npz: give the model name with --model")
        try:
            with np.load(args.npz, allow_pickle=False) as data:
                tensors = [(k, data[k]) for k in data.files]
        except (OSError, ValueError) as exc:
            raise UserInputError(f"--npz: cannot read {args.npz} ({exc})") from None
        return pack_tensors(args.model, tensors)
    if args.model:
        raise UserInputError("--model: only with --npz (the demo model is mhsa_bench)")
    from tinytx.core.workloads import SHAPES, make_mhsa
    from tinytx.toolchain.demo import weights_payload

    seed = 7 if args.demo_seed is None else args.demo_seed
    return weights_payload(make_mhsa(SHAPES["A"], seed))


def run(args: argparse.Namespace) -> int:
    from tinytx.core.boards import Partition, get_board
    from tinytx.core.weights_image import (
        HEADER_BYTES,
        build_image,
        check_address_range,
        check_fits,
        write_intel_hex,
    )

    checks.board(args.board)
    checks.output_file(args.output, "-o")
    board = get_board(args.board)
    part = board.weights_partition
    if part is None:
        raise UserInputError(f"--board: {board.name} has no weights partition in boards.yaml")
    if args.address is not None:
        part = Partition(args.address, part.size)
        check_address_range(part.address, part.size, f"--address: the {board.name} partition")
    payload = _payload(args)
    image = build_image(payload)
    check_fits(image, part, f"board {board.name}")
    with writing(args.output, "-o"):
        write_intel_hex(image, part.address, args.output)
    crc = int.from_bytes(image[44:48], "little")
    inf(
        f"wrote {args.output}: weight image of {payload.model} ({len(payload.slots)} tensors,"
        f" {len(payload.data):,} payload bytes + {HEADER_BYTES}-byte header) at"
        f" {part.address:#010x} for {board.name}",
        f"model hash {payload.model_hash.hex()}  CRC32 {crc:#010x}",
    )
    return 0
