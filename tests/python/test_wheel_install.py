"""tinytx installed from its wheel works outside a checkout.

The test builds the wheel (no network, no build isolation) from a copy of the checkout's
sources (setuptools builds in the source tree: the copy keeps its build/ and egg-info out
of the checkout and no stale file of an earlier build in the wheel), installs it into a fresh
virtualenv outside the checkout (the suite's own dependencies visible through a plain
path line, which does not run the checkout's editable-install hook), and from a
temporary directory converts, plans and runs the radar sample with the new venv's
``tinytx``: the boards, kernels, ports and samples come from the package data, the
build goes to ``./build/tinytx`` and nothing is written into the installed package.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tinytx.core.resources import DATA_TREES

pytestmark = pytest.mark.firmware

REPO_ROOT = Path(__file__).resolve().parents[2]
BOARD = "nucleo_l476rg"


def run(cmd: list, cwd: Path, env: dict[str, str], timeout: float = 300) -> str:
    proc = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, f"{cmd}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def source_copy(dest: Path) -> Path:
    """What the wheel is built from, copied out of the checkout."""
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md"):
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, dest / name)
    ignore = shutil.ignore_patterns("build", "__pycache__", "*.pyc", ".*", "*.egg-info")
    for tree in ("scripts/tinytx", *DATA_TREES):
        shutil.copytree(REPO_ROOT / tree, dest / tree, ignore=ignore)
    return dest


def package_files(package: Path) -> set[Path]:
    return {p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


def test_wheel_installs_and_runs_outside_the_checkout(tmp_path: Path):
    assert not tmp_path.resolve().is_relative_to(REPO_ROOT)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TINYTX_BUILD_DIR")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"

    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip"]
    source = source_copy(tmp_path / "source")
    run([*pip, "wheel", source, "--no-deps", "--no-build-isolation", "--no-index",
         "-q", "-w", wheels], source, env)  # fmt: skip
    (wheel,) = wheels.glob("tinytx-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
    for name in (
        "tinytx/_data/boards/boards.yaml",
        "tinytx/_data/kernels/sources.cmake",
        "tinytx/_data/module/ports/baremetal/CMakeLists.txt",
        "tinytx/_data/samples/radar/model/model.onnx",
        "tinytx/_data/samples/common/src/sample_main.c",
        "tinytx/_data/tests/kernels/CMakeLists.txt",
        "tinytx/core/plan/attention_costs.yaml",
        "tinytx/toolchain/bench/cost_tables.yaml",
    ):
        assert name in names, f"{wheel.name} lacks {name}"
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert wheel.stat().st_size < 4 << 20, f"{wheel.name}: {wheel.stat().st_size} bytes"

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv], tmp_path, env)
    python = venv / "bin" / "python"
    purelib = Path(
        run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            tmp_path, env).strip()
    )  # fmt: skip
    # numpy, onnx, unicorn...: the suite's own, without the checkout's editable tinytx.
    (purelib / "tinytx-test-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run([*pip, "--python", python, "install", "--no-deps", "--no-index", "-q", wheel],
        tmp_path, env)  # fmt: skip

    work = tmp_path / "work"
    work.mkdir()
    where = run(
        [python, "-c", "import sys, tinytx; print(tinytx.__file__); print(*sys.path, sep='\\n')"],
        work, env,
    ).splitlines()  # fmt: skip
    package = Path(where[0]).parent
    assert package == purelib / "tinytx", where[0]
    assert str(REPO_ROOT / "scripts") not in where[1:] and str(REPO_ROOT) not in where[1:]
    before = package_files(package)

    tinytx = venv / "bin" / "tinytx"
    targets = run([tinytx, "targets"], work, env).splitlines()
    assert targets[0].split()[0] == "host"
    assert targets[-1] == f"data: {package / '_data'} (package)"

    model = package / "_data" / "samples" / "radar" / "model" / "model.onnx"
    run([tinytx, "convert", model, "-o", "out", "--board", BOARD], work, env)
    assert (work / "out" / "model.c").is_file() and (work / "out" / "model.h").is_file()

    plan = run([tinytx, "plan", model, "--board", BOARD], work, env)
    assert plan.splitlines()[-1].endswith(": fits"), plan

    out = run([tinytx, "run", "radar", "--target", "m4", "--emulate"], work, env, timeout=600)
    assert out.splitlines()[-1] == "MATCH", out
    assert (work / "build" / "tinytx" / "run").is_dir()  # the default build directory
    assert package_files(package) == before  # nothing written into the installed package
