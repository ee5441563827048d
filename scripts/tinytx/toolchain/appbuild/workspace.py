"""Finding a Zephyr workspace and running ``west build`` in it.

A workspace is found through ``ZEPHYR_BASE`` (a Zephyr tree) or, failing that, through
``west topdir`` run from the current directory and from this checkout: the workspace
that ``west init -m <tinytx> && west update`` makes has Zephyr at ``<topdir>/zephyr``.

A ``tinytx build`` is defined by its command line alone, although its build directory
is reused (``-p auto``) and Zephyr keeps every ``-DCONFIG_...`` of an earlier CMake run
in the cache (CLI_CONFIG_..., re-applied while a later run does not give the symbol):
:class:`ZephyrBuildOptions` gives every tinytx Kconfig choice on every run (``=n`` for
those not asked for, which Kconfig then takes from its defaults), and
:func:`prepare_build_dir` starts from an empty directory when the previous run there
gave a value this run does not give again and cannot undo (a string or int symbol, a
``--cmake-arg``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tinytx.core.errors import TinytxError
from tinytx.core.resources import data_root

GET_WORKSPACE = (
    "get one with `west init -m <tinytx repository URL> --mr main tinytx-ws && cd tinytx-ws"
    " && west update` (docs/zephyr.md)"
)


# The kernel variant choice of module/Kconfig (CONFIG_TINYTX_KERNEL_VARIANT's values).
KERNEL_SYMBOLS = {
    "ref": "CONFIG_TINYTX_KERNELS_REF",
    "arm": "CONFIG_TINYTX_KERNELS_ARM_DSP",
    "riscv": "CONFIG_TINYTX_KERNELS_RISCV",
}
RECORD_FILE = "tinytx-build.json"


@dataclass(frozen=True)
class ZephyrBuildOptions:
    """What one ``tinytx build`` asks of the Zephyr build of a sample."""

    kernels: str | None  # a key of KERNEL_SYMBOLS; None: Kconfig's default for the board
    weights_partition: bool  # CONFIG_TINYTX_WEIGHTS_PARTITION
    generated_dir: Path | None = None  # TINYTX_GENERATED_DIR: the model converted already
    shape: str | None = None  # mhsa_bench: CONFIG_MHSA_BENCH_SHAPE (None: its Kconfig's)
    seed: int | None = None  # mhsa_bench: CONFIG_MHSA_BENCH_SEED
    extra: tuple[str, ...] = ()  # --cmake-arg, verbatim
    cores: int | None = None  # CONFIG_TINYTX_NUM_CORES (None: its Kconfig's)

    def cmake_args(self) -> list[str]:
        """The CMake arguments: every tinytx choice explicitly, every time."""
        if self.kernels is not None and self.kernels not in KERNEL_SYMBOLS:
            raise ValueError(
                f"--kernels: {self.kernels!r} is not one of {', '.join(KERNEL_SYMBOLS)}"
            )
        args = [
            f"-D{symbol}={'y' if variant == self.kernels else 'n'}"
            for variant, symbol in KERNEL_SYMBOLS.items()
        ]
        args.append(f"-DCONFIG_TINYTX_WEIGHTS_PARTITION={'y' if self.weights_partition else 'n'}")
        args.append(f"-DTINYTX_GENERATED_DIR={self.generated_dir or ''}")
        if self.shape is not None:
            args.append(f'-DCONFIG_MHSA_BENCH_SHAPE="{self.shape}"')
        if self.seed is not None:
            args.append(f"-DCONFIG_MHSA_BENCH_SEED={self.seed}")
        if self.cores is not None:
            args.append(f"-DCONFIG_TINYTX_NUM_CORES={self.cores}")
        return [*args, *self.extra]

    def record(self) -> dict:
        """The options a later run cannot undo from its command line: a string or int
        symbol has no value that means "the default", and a --cmake-arg is anything."""
        return {
            "shape": self.shape,
            "seed": self.seed,
            "cores": self.cores,
            "extra": list(self.extra),
        }


def _outlives(previous: dict, current: dict) -> bool:
    """Whether a value of the previous run would stay in the cache under ``current``."""
    for key in ("shape", "seed", "cores"):
        if previous.get(key) is not None and previous.get(key) != current[key]:
            return True
    return any(arg not in current["extra"] for arg in previous.get("extra", []))


def prepare_build_dir(build_dir: Path, options: ZephyrBuildOptions, board: str) -> bool:
    """Make ``build_dir`` ready for a build with ``options`` on ``board``: emptied first
    when an earlier build there gave a value this one does not give again (or when its
    options are unknown, or its board differs), so that nothing of it stays in the CMake
    cache. Returns whether it was emptied."""
    record = {"board": board, **options.record()}
    path = build_dir / RECORD_FILE
    pristine = False
    if build_dir.exists() and any(build_dir.iterdir()):
        if not path.is_file() and not (build_dir / "CMakeCache.txt").is_file():
            raise ValueError(
                f"{build_dir}: exists and holds no build (no CMakeCache.txt): remove it or"
                " choose another --build-dir"
            )
        try:
            previous = json.loads(path.read_text())
        except (OSError, ValueError):
            previous = None
        if not isinstance(previous, dict) or previous.get("board") != board:
            pristine = True
        else:
            pristine = _outlives(previous, record)
        if pristine:
            shutil.rmtree(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n")
    return pristine


@dataclass(frozen=True)
class ZephyrWorkspace:
    zephyr_base: Path
    topdir: Path | None  # None: found through ZEPHYR_BASE only
    found_by: str  # "ZEPHYR_BASE" or "west topdir"


def is_zephyr_tree(path: Path) -> bool:
    """Whether ``path`` holds a Zephyr source tree (its CMake package entry point)."""
    return (path / "cmake" / "modules" / "zephyr_default.cmake").is_file()


def west_command() -> list[str] | None:
    """How to run west: from PATH, next to this Python, or as its module."""
    found = shutil.which("west")
    if found:
        return [found]
    beside = Path(sys.executable).parent / ("west.exe" if os.name == "nt" else "west")
    if beside.is_file():
        return [str(beside)]
    try:
        import west  # noqa: F401
    except ImportError:
        return None
    return [sys.executable, "-m", "west"]


def west_topdir(west: Sequence[str], cwd: Path, env: Mapping[str, str]) -> Path | None:
    try:
        proc = subprocess.run(
            [*west, "topdir"], cwd=cwd, env=dict(env), capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0 or not proc.stdout.strip():
        return None
    return Path(proc.stdout.strip())


def find_workspace(env: Mapping[str, str], cwd: Path) -> ZephyrWorkspace | None:
    """The Zephyr workspace to build in, or None when there is none."""
    base = env.get("ZEPHYR_BASE")
    if base and is_zephyr_tree(Path(base)):
        return ZephyrWorkspace(Path(base).resolve(), None, "ZEPHYR_BASE")
    west = west_command()
    if west is None:
        return None
    for start in dict.fromkeys((cwd, data_root())):
        top = west_topdir(west, start, env)
        if top is not None and is_zephyr_tree(top / "zephyr"):
            return ZephyrWorkspace((top / "zephyr").resolve(), top, "west topdir")
    return None


def west_build(
    workspace: ZephyrWorkspace,
    board: str,
    app_dir: Path,
    build_dir: Path,
    cmake_args: Sequence[str],
    env: Mapping[str, str],
) -> int:
    """``west build -b <board> -d <build_dir> -p auto -S tinytx <app> -- <cmake_args>``
    (the tinytx snippet: the board's weights partition and Kconfig fragment), with the
    console passed through; returns west's exit status."""
    west = west_command()
    if west is None:
        raise TinytxError("west is not installed (pip install west)")
    cmd = [*west, "build", "-b", board, "-d", str(build_dir), "-p", "auto", "-S", "tinytx"]
    cmd.append(str(app_dir))
    if cmake_args:
        cmd += ["--", *cmake_args]
    run_env = dict(env)
    run_env["ZEPHYR_BASE"] = str(workspace.zephyr_base)
    cwd = workspace.topdir or workspace.zephyr_base.parent
    print("$ " + " ".join(cmd), flush=True)
    return subprocess.run(cmd, cwd=cwd, env=run_env).returncode
