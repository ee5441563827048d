"""Run a program on the host or on QEMU (semihosting) and capture its console."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from tinytx.build import require_tool
from tinytx.errors import TinytxError
from tinytx.targets import Target


@dataclass(frozen=True)
class RunResult:
    command: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


class EmulationTimeout(TinytxError):
    """The program did not finish in time (hung, or far slower than expected)."""


def run_program(target: Target, program: Path, args: list[str], timeout: float) -> RunResult:
    """Run ``program`` with ``args``: natively for the host target, under QEMU otherwise.

    QEMU returns the guest's exit code (semihosting SYS_EXIT), so both paths report
    the program's own status.
    """
    if target.emulated:
        require_tool(target.qemu[0])
        # argv[0] of a semihosted program is the first semihosting arg.
        cmd = target.qemu_command(program, [program.name, *args])
    else:
        cmd = [str(program), *args]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise EmulationTimeout(
            f"{program.name} on {target.name} did not finish within {timeout:.0f} s"
        ) from exc
    return RunResult(tuple(cmd), proc.returncode, proc.stdout, proc.stderr)
