"""The command line: real help, clear one-line errors, and the demo end to end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tinytx.cli import COMMANDS, main

pytestmark = pytest.mark.firmware

TINYTX = [sys.executable, "-m", "tinytx.cli"]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TINYTX, *args], capture_output=True, text=True, timeout=600)


def test_help_lists_every_subcommand() -> None:
    proc = run_cli("--help")
    assert proc.returncode == 0
    for name in COMMANDS:
        assert name in proc.stdout


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_subcommand_has_help(name: str) -> None:
    proc = run_cli(name, "--help")
    assert proc.returncode == 0
    assert "usage: tinytx " + name in proc.stdout


def test_no_command_prints_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "<command>" in capsys.readouterr().out


def test_bad_arguments_are_one_line_errors(tmp_path: Path) -> None:
    proc = run_cli("vectors", "-o", str(tmp_path / "v.bin"), "--cases", "0")
    assert proc.returncode == 2
    assert "--cases: must be >= 1" in proc.stderr
    assert "Traceback" not in proc.stderr

    proc = run_cli("vectors", "-o", str(tmp_path / "v.bin"), "--kernel", "conv9d")
    assert proc.returncode == 2
    assert "unknown kernel 'conv9d'" in proc.stderr
    assert "Traceback" not in proc.stderr

    proc = run_cli("demo", "--target", "rv32")
    assert proc.returncode == 2
    assert "emulated Cortex-M" in proc.stderr

    proc = run_cli("demo", "--target", "nosuchboard")
    assert proc.returncode == 2
    assert "unknown target 'nosuchboard'" in proc.stderr


def test_vectors_command_writes_a_file(tmp_path: Path) -> None:
    out = tmp_path / "v.bin"
    proc = run_cli("vectors", "-o", str(out), "--cases", "3", "--kernel", "add")
    assert proc.returncode == 0, proc.stderr
    assert "wrote 3 cases" in proc.stdout
    assert out.read_bytes()[:4] == b"TTXV"


def test_demo_matches_the_golden_model(build_root: Path) -> None:
    proc = run_cli("demo", "--build-dir", str(build_root))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "MATCH: 2592 outputs equal the golden model" in proc.stdout
    assert "unicorn run output: MATCH" in proc.stdout
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("instructions (exact"))
    count = int(line.rsplit(":", 1)[1].replace(",", ""))
    assert 5_000_000 < count < 200_000_000
