"""``tinytx build``: build a sample for a board, as a Zephyr application or, for an emulated
profile (``*_emu`` of boards/boards.yaml), as the bare-metal build that runs on QEMU."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from tinytx.cli import checks
from tinytx.cli.commands.convert import add_sparse_option
from tinytx.cli.output import inf
from tinytx.core.errors import PathError, UserInputError
from tinytx.core.resources import BUILD_DIR_HELP, resolve_build_dir

# west flash runners of the upstream boards (boards/st/<board>/board.cmake; the first
# is the default, `west flash -r <runner>` picks another).
FLASH_RUNNERS = {
    "nucleo_l476rg": ("openocd", "jlink"),
    "nucleo_h743zi": ("stm32cubeprogrammer", "openocd", "jlink", "pyocd"),
}

KERNELS = ("arm", "ref", "riscv")


def add_parser(sub: argparse._SubParsersAction, name: str, help_text: str) -> None:
    p = sub.add_parser(
        name,
        help=help_text,
        description=help_text + ". For a Zephyr board: the sample's model conversion (when it"
        " has a model), then `west build` in the Zephyr workspace (ZEPHYR_BASE or `west"
        " topdir`); for an emulated profile: the bare-metal build (module/ports/baremetal),"
        " run on QEMU with --run. See docs/zephyr.md.",
    )
    p.add_argument("sample", help="sample directory (samples/mhsa_bench) or name")
    p.add_argument("-b", "--board", help="Zephyr board (nucleo_h743zi) or emulated profile (*_emu)")
    p.add_argument(
        "--generate-only",
        type=Path,
        metavar="DIR",
        help="only write the sample's generated sources to DIR (its CMakeLists.txt runs"
        " this; with -b, the board's defaults and weights partition)",
    )
    p.add_argument(
        "--build-dir",
        type=Path,
        help=BUILD_DIR_HELP + "; the build goes to <root>/<sample>-<board>",
    )
    p.add_argument(
        "--kernels",
        choices=KERNELS,
        help="kernel variant (default: the board's, arm on the Cortex-M4/M7 Nucleo boards)",
    )
    p.add_argument(
        "--cores",
        type=int,
        metavar="N",
        help="cores the kernels run on (CONFIG_TINYTX_NUM_CORES): the conversion plans "
        "their scratch for N (default: the board's)",
    )
    p.add_argument(
        "--weights-image",
        action="store_true",
        help="read the weights from the board's weights partition (CONFIG_TINYTX_WEIGHTS_"
        "PARTITION) and write the image as Intel HEX (weights.hex) to flash there",
    )
    add_sparse_option(p)
    p.add_argument("--shape", help="mhsa_bench: the block's shape (A-D; default per board)")
    p.add_argument("--seed", type=checks.seed, help="mhsa_bench: seed of the block (default 7)")
    p.add_argument("--run", action="store_true", help="emulated profiles: run it on QEMU")
    p.add_argument(
        "--cmake-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="Zephyr boards: extra argument for CMake (repeatable), written"
        " --cmake-arg=-DEXTRA_CONF_FILE=my.conf",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    args.build_dir = resolve_build_dir(args.build_dir)
    from tinytx.toolchain.appbuild.samples import find_sample

    sample = find_sample(args.sample)
    if args.generate_only is None:
        checks.build_dir(args.build_dir)
    if args.generate_only is not None:
        if args.generate_only.exists() and not args.generate_only.is_dir():
            raise PathError(
                args.generate_only, "is a file, expected a directory", "--generate-only"
            )
        return _generate_only(sample, args)
    if args.board is None:
        raise UserInputError("give the board (-b BOARD), or --generate-only DIR")
    from tinytx.core.boards import load_boards

    boards = load_boards()
    board = boards.get(args.board)
    if board is not None and board.target is not None:
        return _build_emulated(sample, board, args)
    if board is not None and board.name == "gap9":
        raise UserInputError(
            "--board gap9: GAP9 has no upstream Zephyr support; it is built with the GAP9"
            " port (module/ports/gap9, PMSIS; docs/gap9.md)"
        )
    return _build_zephyr(sample, args, boards)


def _options(sample, args: argparse.Namespace, board: str | None, real_board: str | None):
    """What to generate; ``board`` gets the weight image, ``real_board`` (the board an
    emulated profile mirrors) gives mhsa_bench's default shape, as its Zephyr build does."""
    from tinytx.toolchain.appbuild.samples import GenerateOptions, kconfig_value

    shape = args.shape
    if shape is None and sample.name == "mhsa_bench" and real_board is not None:
        shape = kconfig_value(sample, real_board, "MHSA_BENCH_SHAPE")
    return GenerateOptions(
        shape, args.seed, args.weights_image, board, args.kernels, getattr(args, "cores", None),
        getattr(args, "sparse", "auto"),
    )  # fmt: skip


def _generate_only(sample, args: argparse.Namespace) -> int:
    from tinytx.toolchain.appbuild.samples import generate

    options = _options(sample, args, args.board, args.board)
    generated = generate(sample, args.generate_only, options)
    files = ", ".join(p.name for p in generated.sources) or "no sources"
    inf(f"{generated.summary}: {files} in {generated.directory}")
    return 0


def _build_emulated(sample, board, args: argparse.Namespace) -> int:
    from tinytx.toolchain.appbuild.emulated import build_emulated
    from tinytx.toolchain.appbuild.samples import generate
    from tinytx.toolchain.demo import memory_lines

    if args.cmake_arg:
        raise UserInputError("--cmake-arg: only for Zephyr boards, not the emulated profiles")
    root = (args.build_dir / f"{sample.name}-{board.name}").resolve()
    options = _options(sample, args, board.name, board.emulates)
    generated = generate(sample, root / "generated", options)
    inf(generated.summary)
    inf(f"board: {board.description} (bare-metal build, module/ports/baremetal)")
    elf = build_emulated(
        sample, board, generated, root / "firmware", args.kernels, args.weights_image
    )
    inf(f"firmware: {elf}")
    inf(*memory_lines(elf, board))
    if not args.run:
        return 0
    from tinytx.toolchain.emu.qemu import loader_args, run_program

    extra = loader_args(generated.weights_hex) if generated.weights_hex else []
    result = run_program(board.build_target(), elf, [], timeout=600, qemu_extra=extra)
    inf("--- QEMU console " + "-" * 40)
    inf(result.stdout.rstrip())
    inf("-" * 57)
    inf(f"exit code: {result.returncode}")
    return 0 if result.returncode == 0 else 1


def _build_zephyr(sample, args: argparse.Namespace, boards) -> int:
    from tinytx.core.codegen.project import default_kernels
    from tinytx.core.errors import TinytxError
    from tinytx.toolchain.appbuild.samples import GenerateOptions, generate
    from tinytx.toolchain.appbuild.workspace import (
        GET_WORKSPACE,
        ZephyrBuildOptions,
        find_workspace,
        prepare_build_dir,
        west_build,
    )

    if args.run:
        raise UserInputError("--run: only for the emulated profiles; on a board use `west flash`")
    if sample.name != "mhsa_bench" and (args.shape is not None or args.seed is not None):
        raise UserInputError(f"--shape/--seed: only mhsa_bench takes them, not {sample.name}")
    board = args.board
    workspace = find_workspace(os.environ, Path.cwd())
    if workspace is None:
        emulated = f"{board}_emu"
        alt = f", or build its emulated profile: -b {emulated}" if emulated in boards else ""
        raise TinytxError(
            "no Zephyr workspace found (ZEPHYR_BASE is not set and `west topdir` finds"
            f" none): {GET_WORKSPACE}{alt}"
        )
    inf(f"Zephyr: {workspace.zephyr_base} (found by {workspace.found_by})")
    build_dir = (args.build_dir / f"{sample.name}-{board.replace('/', '_')}").resolve()
    # The variant the model is converted for is the one Kconfig is told to build: the
    # board's default (boards.yaml) unless --kernels; a board tinytx does not know keeps
    # Kconfig's default and its model is converted at configure time (module CMake).
    board_name = board.split("@")[0].split("/")[0]  # without revision and qualifiers
    known = board_name if board_name in boards else None
    kernels = args.kernels
    if kernels is None and known is not None:
        kernels = default_kernels(known)
    converted_dir = build_dir / "tinytx_converted"
    options = ZephyrBuildOptions(
        kernels=kernels,
        weights_partition=args.weights_image,
        generated_dir=converted_dir if sample.model is not None and known else None,
        shape=args.shape,
        seed=args.seed,
        extra=tuple(args.cmake_arg),
        cores=args.cores,
    )
    if prepare_build_dir(build_dir, options, board):
        inf(f"{build_dir}: options changed since its last build: starting from scratch")
    if options.generated_dir is not None:
        generate_options = GenerateOptions(
            None, None, args.weights_image, known, kernels, args.cores, args.sparse
        )
        generated = generate(sample, options.generated_dir, generate_options)
        inf(generated.summary)
    elif sample.model is not None:
        inf(f"{sample.name}: model converted at configure time (board {board} is not in"
              " boards/boards.yaml)")  # fmt: skip
    else:
        inf(f"{sample.name}: no model to convert")
    cmake_args = options.cmake_args()
    code = west_build(workspace, board, sample.path, build_dir, cmake_args, os.environ)
    if code != 0:
        inf(f"tinytx build: west build failed (exit {code})")
        return 1
    inf(f"firmware: {build_dir / 'zephyr' / 'zephyr.elf'}")
    runners = FLASH_RUNNERS.get(board_name)
    hint = f" (runners: {', '.join(runners)}; default {runners[0]})" if runners else ""
    inf(f"flash: west flash -d {build_dir}{hint}")
    if args.weights_image:
        image = build_dir / "tinytx_generated" / "weights.hex"
        inf(f"weights image: west flash -d {build_dir} --hex-file {image}")
    return 0
