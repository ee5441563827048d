"""The import layers of pyproject.toml ([tool.importlinter]) hold, and a broken one is caught.

cli > toolchain > core; inside core codegen > plan > frontend | executor > ir > golden;
the golden model imports no other tinytx module but the errors and the kernel ABI (its
limits). ``make lint`` runs the same check.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE = REPO_ROOT / "scripts" / "tinytx"


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """lint-imports with the contracts of ``root``/pyproject.toml, importing tinytx from
    ``root``/scripts."""
    env = {**os.environ, "PYTHONPATH": str(root / "scripts")}
    code = "from importlinter.cli import lint_imports_command; lint_imports_command()"
    return subprocess.run(
        [sys.executable, "-c", code, "--no-cache", "--config", str(root / "pyproject.toml")],
        cwd=root, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_the_contracts_hold():
    proc = lint_imports(REPO_ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Contracts: 3 kept, 0 broken." in proc.stdout, proc.stdout


def test_an_upward_import_breaks_the_contracts(tmp_path: Path):
    shutil.copy2(REPO_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    copy = tmp_path / "scripts" / "tinytx"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    quant = copy / "core" / "golden" / "quant.py"
    quant.write_text(quant.read_text() + "\nimport tinytx.toolchain.build  # noqa: E402, F401\n")

    proc = lint_imports(tmp_path)
    assert proc.returncode != 0, proc.stdout
    out = proc.stdout
    assert "cli > toolchain > core BROKEN" in out, out
    golden = "golden imports nothing of tinytx but tinytx.core.errors and the kernel ABI"
    assert f"{golden} BROKEN" in out, out
    assert "tinytx.core.golden.quant -> tinytx.toolchain.build" in out, out
