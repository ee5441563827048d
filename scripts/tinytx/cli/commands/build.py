"""``tinytx build``: build a sample for a board, as a Zephyr application or, for an emulated
profile (``*_emu`` of boards/boards.yaml), as the bare-metal build that runs on QEMU."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from tinytx.core.resources import BUILD_DIR_HELP, resolve_build_dir

# west flash runners of the upstream boards (boards/st/<board>/board.cmake; the first
# is the default, `west flash -r <runner>` picks another).
FLASH_RUNNERS = {
    "nucleo_l476rg": ("openocd", "jlink"),
    "nucleo_h743zi": ("stm32cubeprogrammer", "openocd", "jlink", "pyocd"),
}

KERNEL_CONFIGS = {
    "ref": "CONFIG_TINYTX_KERNELS_REF=y",
    "arm": "CONFIG_TINYTX_KERNELS_ARM_DSP=y",
    "riscv": "CONFIG_TINYTX_KERNELS_RISCV=y",
}


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
    p.add_argument("--kernels", choices=sorted(KERNEL_CONFIGS), help="kernel variant")
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
    p.add_argument("--shape", help="mhsa_bench: the block's shape (A-D; default per board)")
    p.add_argument("--seed", type=int, help="mhsa_bench: seed of the block (default 7)")
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
    if args.generate_only is not None:
        return _generate_only(sample, args)
    if args.board is None:
        raise ValueError("give the board (-b BOARD), or --generate-only DIR")
    from tinytx.core.boards import load_boards

    boards = load_boards()
    board = boards.get(args.board)
    if board is not None and board.target is not None:
        return _build_emulated(sample, board, args)
    if board is not None and board.name == "gap9":
        raise ValueError(
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
        shape, args.seed, args.weights_image, board, args.kernels, getattr(args, "cores", None)
    )


def _generate_only(sample, args: argparse.Namespace) -> int:
    from tinytx.toolchain.appbuild.samples import generate

    options = _options(sample, args, args.board, args.board)
    generated = generate(sample, args.generate_only, options)
    files = ", ".join(p.name for p in generated.sources) or "no sources"
    print(f"{generated.summary}: {files} in {generated.directory}")
    return 0


def _build_emulated(sample, board, args: argparse.Namespace) -> int:
    from tinytx.toolchain.appbuild.emulated import build_emulated
    from tinytx.toolchain.appbuild.samples import generate
    from tinytx.toolchain.demo import print_memory

    if args.cmake_arg:
        raise ValueError("--cmake-arg: only for Zephyr boards, not the emulated profiles")
    root = (args.build_dir / f"{sample.name}-{board.name}").resolve()
    options = _options(sample, args, board.name, board.emulates)
    generated = generate(sample, root / "generated", options)
    print(generated.summary)
    print(f"board: {board.description} (bare-metal build, module/ports/baremetal)")
    elf = build_emulated(
        sample, board, generated, root / "firmware", args.kernels, args.weights_image
    )
    print(f"firmware: {elf}")
    print_memory(elf, board)
    if not args.run:
        return 0
    from tinytx.toolchain.emu.qemu import loader_args, run_program

    extra = loader_args(generated.weights_hex) if generated.weights_hex else []
    result = run_program(board.build_target(), elf, [], timeout=600, qemu_extra=extra)
    print("--- QEMU console " + "-" * 40)
    print(result.stdout.rstrip())
    print("-" * 57)
    print(f"exit code: {result.returncode}")
    return 0 if result.returncode == 0 else 1


def _build_zephyr(sample, args: argparse.Namespace, boards) -> int:
    from tinytx.core.errors import TinytxError
    from tinytx.toolchain.appbuild.samples import generate
    from tinytx.toolchain.appbuild.workspace import GET_WORKSPACE, find_workspace, west_build

    if args.run:
        raise ValueError("--run: only for the emulated profiles; on a board use `west flash`")
    if sample.name != "mhsa_bench" and (args.shape is not None or args.seed is not None):
        raise ValueError(f"--shape/--seed: only mhsa_bench takes them, not {sample.name}")
    board = args.board
    workspace = find_workspace(os.environ, Path.cwd())
    if workspace is None:
        emulated = f"{board}_emu"
        alt = f", or build its emulated profile: -b {emulated}" if emulated in boards else ""
        raise TinytxError(
            "no Zephyr workspace found (ZEPHYR_BASE is not set and `west topdir` finds"
            f" none): {GET_WORKSPACE}{alt}"
        )
    print(f"Zephyr: {workspace.zephyr_base} (found by {workspace.found_by})")
    build_dir = (args.build_dir / f"{sample.name}-{board.replace('/', '_')}").resolve()
    cmake_args: list[str] = []
    if sample.model is not None:
        options = _options(sample, args, board, board)
        generated = generate(sample, build_dir / "tinytx_converted", options)
        print(generated.summary)
        cmake_args.append(f"-DTINYTX_GENERATED_DIR={generated.directory}")
    else:
        print(f"{sample.name}: no model to convert")
    if args.kernels:
        cmake_args.append("-D" + KERNEL_CONFIGS[args.kernels])
    if args.weights_image:
        cmake_args.append("-DCONFIG_TINYTX_WEIGHTS_PARTITION=y")
    if args.shape is not None:
        cmake_args.append(f'-DCONFIG_MHSA_BENCH_SHAPE="{args.shape}"')
    if args.seed is not None:
        cmake_args.append(f"-DCONFIG_MHSA_BENCH_SEED={args.seed}")
    cmake_args += args.cmake_arg
    code = west_build(workspace, board, sample.path, build_dir, cmake_args, os.environ)
    if code != 0:
        print(f"tinytx build: west build failed (exit {code})")
        return 1
    print(f"firmware: {build_dir / 'zephyr' / 'zephyr.elf'}")
    runners = FLASH_RUNNERS.get(board.split("/")[0])
    hint = f" (runners: {', '.join(runners)}; default {runners[0]})" if runners else ""
    print(f"flash: west flash -d {build_dir}{hint}")
    if args.weights_image:
        image = build_dir / "tinytx_generated" / "weights.hex"
        print(f"weights image: west flash -d {build_dir} --hex-file {image}")
    return 0
