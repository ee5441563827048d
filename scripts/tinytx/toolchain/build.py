"""CMake builds for host and emulated targets (configure once, rebuild incrementally)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from tinytx.core.errors import TinytxError, UserInputError
from tinytx.core.targets import Target
from tinytx.toolchain.dirlock import directory_lock

SETUP_HINT = "run `make setup` (or scripts/setup.sh) to install the toolchains"


class BuildError(TinytxError):
    """A build step failed; the message carries the tool's output tail."""


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BuildError(f"{name} not found on PATH; {SETUP_HINT}")
    return path


def compiler_for(target: Target) -> str:
    return f"{target.toolchain}-gcc" if target.emulated else "gcc"


def exp_table_defines(kernels: str, exp_table: bool) -> dict[str, str]:
    """CMake defines of the arm kernels' table-driven softmax exp (64 KiB of flash, off
    by default; kernels/CMakeLists.txt): none unless asked, so default builds keep their
    configuration."""
    if not exp_table:
        return {}
    if kernels != "arm":
        raise UserInputError(f"--exp-table: only with the arm kernels, not {kernels!r}")
    return {"TINYTX_ARM_EXP_TABLE": "ON"}


def _run(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-30:])
        raise BuildError(f"{what} failed (exit {proc.returncode}):\n{tail}")


def cmake_build(
    source_dir: Path,
    build_dir: Path,
    target: Target,
    defines: dict[str, str] | None = None,
    build_target: str | None = None,
) -> Path:
    """Configure (when the arguments changed) and build; returns ``build_dir``."""
    require_tool("cmake")
    require_tool(compiler_for(target))
    args = [
        f"-DTINYTX_TARGET_NAME={target.name}",
        *target.cmake_args(),
        *(f"-D{k}={v}" for k, v in sorted((defines or {}).items())),
    ]
    stamp = build_dir / ".tinytx-configure"
    digest = hashlib.sha256("\0".join([str(source_dir), *args]).encode()).hexdigest()
    cmd = ["cmake", "--build", str(build_dir), "-j", "2"]
    if build_target:
        cmd += ["--target", build_target]
    with directory_lock(build_dir):
        if not stamp.exists() or stamp.read_text() != digest:
            if build_dir.exists():
                shutil.rmtree(build_dir)
            build_dir.mkdir(parents=True)
            _run(["cmake", "-S", str(source_dir), "-B", str(build_dir), *args], "cmake configure")
            stamp.write_text(digest)
        _run(cmd, f"build of {source_dir.name} for {target.name}")
    return build_dir
