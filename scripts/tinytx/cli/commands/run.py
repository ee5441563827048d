"""``tinytx run``: a converted model or a sample on an emulated board, checked against
the golden executor; ``MATCH`` on the last line when every test input is bit-exact."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from tinytx.cli import checks
from tinytx.cli.checks import write_output
from tinytx.cli.commands.convert import add_options, check_options, options
from tinytx.cli.exitcodes import ExitCode
from tinytx.cli.output import inf, progress
from tinytx.core.errors import UserInputError
from tinytx.core.resources import BUILD_DIR_HELP, resolve_build_dir

if TYPE_CHECKING:
    from tinytx.core.boards import Board
    from tinytx.core.targets import Target


def add_parser(sub: argparse._SubParsersAction, name: str, help_text: str) -> None:
    p = sub.add_parser(
        name,
        help=help_text,
        description=help_text + ": convert (as `tinytx convert`), build the sample firmware "
        "for the board's emulated profile (bare metal; a real board runs its emulated "
        "profile: tinytx has no runner for an attached board), run every committed test "
        "input in one QEMU run, compare each output with the golden executor, count the exact "
        "instructions of one inference (unicorn, Cortex-M) and report the memory. Exit 0 "
        "and MATCH on the last line only when every input matches.",
    )
    p.add_argument(
        "source",
        help="sample name (radar, eeg, ecg), sample directory, "
        "tinytx convert output directory or .onnx or .tflite file",
    )
    p.add_argument(
        "--board",
        help="board of boards/boards.yaml: a real board (nucleo_l476rg) runs its emulated "
        "profile, or name the profile itself (nucleo_l476rg_emu)",
    )
    p.add_argument(
        "--target",
        help="emulated target without board limits (e.g. rv32, rv32x8); with --board only "
        "when it is the target of the board's emulated profile",
    )
    p.add_argument(
        "--emulate",
        action="store_true",
        help="run on QEMU (the default and, for now, the only runner: tinytx has no runner "
        "for an attached board; build for one with `tinytx build` and flash with west)",
    )
    p.add_argument("--kernels", choices=["ref", "arm", "riscv"], help="kernel variant")
    p.add_argument(
        "--exp-table",
        action="store_true",
        help="arm kernels: build with the table-driven softmax exp (TINYTX_ARM_EXP_TABLE, "
        "64 KiB more flash, fewer instructions; bit-exact either way)",
    )
    p.add_argument("--no-count", action="store_true", help="skip the unicorn instruction count")
    p.add_argument(
        "--profile",
        action="store_true",
        help="split the counted call by layer of the generated schedule: kernel, MACs, exact "
        "instructions, MAC/instruction, share, modelled cycles; and estimate latency and "
        "energy at the clock of the board the profile emulates (Cortex-M)",
    )
    p.add_argument(
        "--profile-json",
        metavar="FILE",
        help="write that profile as JSON to FILE (schema tinytx-profile/1, docs/user-guide.md); "
        "implies --profile",
    )
    p.add_argument("--build-dir", type=Path, help=BUILD_DIR_HELP)
    add_options(p)
    p.set_defaults(func=run)


def target_of(board_name: str | None, target_name: str | None) -> tuple[Board | None, Target]:
    """(board profile or None, target) of a run; refuses a --target that disagrees with
    the board's profile."""
    from tinytx.core.boards import emulated_profile
    from tinytx.core.targets import get_target

    if board_name is None and target_name is None:
        raise UserInputError(
            "--board: give a board (e.g. nucleo_l476rg) or an emulated target (--target m4)"
        )
    if board_name is not None:
        board = emulated_profile(board_name)
        if target_name is not None and target_name != board.target:
            raise UserInputError(
                f"--target {target_name} conflicts with --board {board_name} (its emulated "
                f"profile {board.name} runs on {board.target}): give one of them"
            )
        return board, board.build_target()
    target = get_target(target_name)
    if not target.emulated:
        raise UserInputError(f"--target: {target_name} is not an emulated target")
    return None, target


def run(args: argparse.Namespace) -> int:
    args.build_dir = resolve_build_dir(args.build_dir)
    checks.build_dir(args.build_dir)
    from tinytx.toolchain.build import exp_table_defines
    from tinytx.toolchain.demo import memory_lines
    from tinytx.toolchain.firmware import emulate, resolve_source

    if args.profile_json in ("", "-"):
        raise UserInputError("--profile-json: needs a file name")
    checks.output_file(args.profile_json, "--profile-json")
    checks.board(args.board)
    checks.target(args.target)
    check_options(args)
    profile = bool(args.profile or args.profile_json)
    if profile and args.no_count:
        raise UserInputError("--profile: needs the instruction count (drop --no-count)")
    board, target = target_of(args.board, args.target)
    try:
        target = target.with_cores(args.cores)  # the harts QEMU runs: the cores planned
    except UserInputError as exc:
        raise UserInputError(f"--cores: {str(exc).removeprefix('cores: ')}") from None
    kernels = target.check_kernels(args.kernels or target.default_kernels)
    exp_table_defines(kernels, args.exp_table)  # refuses the table without the arm kernels
    if profile and not (target.cpu or "").startswith("cortex-m"):
        raise UserInputError(
            f"--profile: unicorn counts Cortex-M only; target {target.name} runs {target.cpu}"
        )
    name = board.name if board else None
    source = resolve_source(args.source, name, kernels, options(args), target.cores)
    if board is not None and board.name != args.board:
        progress(
            f"{args.board}: tinytx has no runner for an attached board; running its emulated "
            f"profile {board.name} on QEMU: {board.description}"
        )
    where = board.description if board else target.description
    table = " (softmax exp table)" if args.exp_table else ""
    cores = f", {target.cores} cores" if target.cores > 1 else ""
    progress(f"tinytx run: {source.onnx} on {where}, {kernels} kernels{table}{cores}")
    res = emulate(
        source,
        target,
        kernels,
        args.build_dir,
        count=not args.no_count,
        profile=profile,
        exp_table=args.exp_table,
        echo=progress,  # the plan, the firmware and its console: progress, on stderr
    )
    conv = res.conversion
    assert conv.test is not None
    if res.problems:
        for p in res.problems:
            inf(f"FAILED: {p}")
        inf("MISMATCH")
        return ExitCode.FAILED
    labels = conv.test.classes
    for i, out in sorted(res.firmware.outputs.items()):
        c = int(out.argmax())
        inf(f"input {i}: predicted {labels[c] if c < len(labels) else c}")
    inf(f"golden executor: {conv.test.count} of {conv.test.count} outputs bit-exact")
    m = conv.planned
    if res.count is not None:
        inf(
            f"instructions (exact, unicorn, one tinytx_{m.name}_run call): "
            f"{res.count.instructions:,}  ({m.macs:,} MACs)"
        )
        inf(
            f"modelled cycles ({target.cpu} cost table, a model, not silicon): "
            f"{res.count.modelled_cycles:,}"
        )
        if profile:
            _print_profile(res.count.profile, args, target.name, kernels)
    else:
        inf("instructions: not counted (unicorn counts Cortex-M only)")
    plan = conv.plan
    inf(f"arena: {plan.arena_bytes:,} bytes (planned); weights: {plan.weight_bytes:,} bytes")
    inf(*memory_lines(res.elf, board))
    inf("MATCH")
    return 0


def _print_profile(prof, args: argparse.Namespace, target: str, kernels: str) -> None:
    import dataclasses
    import json

    from tinytx.core.boards import clock_of

    prof = dataclasses.replace(prof, clock=clock_of(args.board, args.target))
    text = json.dumps(prof.as_json(target, kernels), indent=2) + "\n"
    for line in prof.table():
        inf(line)
    if args.profile_json:
        write_output(args.profile_json, text, "--profile-json")
        inf(f"profile JSON: {args.profile_json}")
