"""Finding a Zephyr workspace and running ``west build`` in it.

A workspace is found through ``ZEPHYR_BASE`` (a Zephyr tree) or, failing that, through
``west topdir`` run from the current directory and from this checkout: the workspace
that ``west init -m <tinytx> && west update`` makes has Zephyr at ``<topdir>/zephyr``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tinytx.core.resources import data_root

GET_WORKSPACE = (
    "get one with `west init -m <tinytx repository URL> --mr main tinytx-ws && cd tinytx-ws"
    " && west update` (docs/zephyr.md)"
)


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
    """``west build -b <board> -d <build_dir> -p auto <app> -- <cmake_args>``, with the
    console passed through; returns west's exit status."""
    west = west_command()
    if west is None:
        raise FileNotFoundError("west is not installed (pip install west)")
    cmd = [*west, "build", "-b", board, "-d", str(build_dir), "-p", "auto", str(app_dir)]
    if cmake_args:
        cmd += ["--", *cmake_args]
    run_env = dict(env)
    run_env["ZEPHYR_BASE"] = str(workspace.zephyr_base)
    cwd = workspace.topdir or workspace.zephyr_base.parent
    print("$ " + " ".join(cmd), flush=True)
    return subprocess.run(cmd, cwd=cwd, env=run_env).returncode
