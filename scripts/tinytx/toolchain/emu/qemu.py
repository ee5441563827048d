"""Run a program on the host or on QEMU (semihosting) and capture its console."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tinytx.core.errors import TinytxError
from tinytx.core.targets import Target
from tinytx.toolchain.build import require_tool


@dataclass(frozen=True)
class RunResult:
    command: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


class EmulationTimeout(TinytxError):
    """The program did not finish in time (hung, or far slower than expected)."""


def loader_args(path: Path) -> list[str]:
    """QEMU options that load a file (ELF, uImage, Intel HEX) at its own addresses at reset
    (the generic loader device; a comma in the path is doubled, as QEMU options need)."""
    return ["-device", "loader,file=" + str(path).replace(",", ",,")]


def run_program(
    target: Target,
    program: Path,
    args: list[str],
    timeout: float,
    qemu_extra: Sequence[str] = (),
) -> RunResult:
    """Run ``program`` with ``args``: natively for the host target, under QEMU otherwise.

    QEMU returns the guest's exit code (semihosting SYS_EXIT), so both paths report
    the program's own status. ``qemu_extra`` adds QEMU options (e.g. :func:`loader_args`).
    """
    if target.emulated:
        require_tool(target.qemu[0])
        # argv[0] of a semihosted program is the first semihosting arg.
        cmd = target.qemu_command(program, [program.name, *args], qemu_extra)
    else:
        cmd = [str(program), *args]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise EmulationTimeout(
            f"{program.name} on {target.name} did not finish within {timeout:.0f} s"
        ) from exc
    return RunResult(tuple(cmd), proc.returncode, proc.stdout, proc.stderr)
