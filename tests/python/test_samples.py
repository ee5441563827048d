"""The radar, EEG and ECG samples end to end.

- (the agreement with onnxruntime and the committed golden outputs: test_sample_models.py)
- the generated firmware is bit-exact with the golden executor on every committed test
  input on QEMU Cortex-M4 and Cortex-M7 (DSP kernels, each board profile's plan) and
  RV32 (reference kernels) and RV32 with 8 harts (riscv kernels, planned for 8 cores): one
  firmware per target runs all three samples, in one emulator run;
- ``tinytx run <sample> --emulate`` prints MATCH on its last line, and so does
  ``tinytx run radar --board nucleo_l476rg`` (a real board: its emulated profile).
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tinytx.core.boards import get_board
from tinytx.core.codegen.project import ConvertOptions, convert
from tinytx.core.resources import samples_dir
from tinytx.core.targets import get_target
from tinytx.toolchain import firmware

pytestmark = pytest.mark.firmware

ort = pytest.importorskip("onnxruntime")

SAMPLES = ("radar", "eeg", "ecg")
AGREEMENT = 0.99
# target -> board profile whose RAM budget the plan meets, kernels. RV32 has no board
# profile: it runs the L476's plan with the reference kernels, whose layer-wise EEG block
# does not fit there, so the EEG firmware uses depth-first tiles. rv32x8: no board limit,
# the multi-core kernels' scratch for the target's 8 cores.
TARGETS: dict[str, tuple[str | None, str]] = {
    "m4": ("nucleo_l476rg_emu", "arm"),
    "m7": ("nucleo_h743zi_emu", "arm"),
    "rv32": ("nucleo_l476rg_emu", "ref"),
    "rv32x8": (None, "riscv"),
}


def onnx_path(name: str) -> Path:
    return samples_dir() / name / "model" / "model.onnx"


def data_module(name: str):
    path = samples_dir() / name / "model" / "data.py"
    spec = importlib.util.spec_from_file_location(f"tinytx_sample_data_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("target_name", list(TARGETS))
def test_firmware_bit_exact_on_emulated_targets(target_name: str, build_root: Path) -> None:
    board_name, kernels = TARGETS[target_name]
    target = get_target(target_name)
    if board_name is not None and target_name != "rv32":
        target = get_board(board_name).build_target()
    if shutil.which(target.qemu[0]) is None or shutil.which(f"{target.toolchain}-gcc") is None:
        pytest.skip(f"no toolchain/QEMU for {target_name}")
    root = (build_root / "samples" / target_name).resolve()
    convs, dirs = [], []
    for name in SAMPLES:
        opts = ConvertOptions(board=board_name, kernels=kernels, cores=target.cores)
        conv = convert(onnx_path(name), opts)
        gen = root / "generated" / name
        conv.write(gen)
        convs.append(conv)
        dirs.append(gen)
    elf = firmware.build_multi(convs, dirs, target, kernels, root / "firmware")
    run = firmware.run(target, elf, timeout=600)
    assert run.returncode == 0, run.console
    for conv in convs:
        name = conv.planned.name
        assert (
            f"{name}: {conv.test.count} of {conv.test.count} outputs equal the golden model: MATCH"
            in run.console
        )
        assert firmware.compare(conv, run, section=name) == []


def cli_match(*args: str) -> tuple[str, list[str]]:
    """Run the tinytx CLI on QEMU; it must exit 0 with MATCH on its last line."""
    if shutil.which("qemu-system-arm") is None:
        pytest.skip("no QEMU")
    cmd = [sys.executable, "-m", "tinytx.cli", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[-1] == "MATCH"
    return proc.stdout, lines


def test_run_command_prints_match_last(build_root: Path) -> None:
    out, lines = cli_match(
        "run", "ecg", "--board", "nucleo_l476rg_emu", "--emulate", "--build-dir", str(build_root)
    )
    assert "golden executor: 5 of 5 outputs bit-exact" in out
    count = next(ln for ln in lines if ln.startswith("instructions (exact, unicorn"))
    assert int(count.split(":")[1].split("(")[0].replace(",", "")) > 100_000
    assert any(ln.startswith("input 4: predicted ") for ln in lines)
    assert "board nucleo_l476rg_emu:" in out and "fits" in out


def test_run_takes_the_real_board_name(build_root: Path) -> None:
    """``--board nucleo_l476rg`` (no ``--emulate``) runs the board's emulated profile,
    says so on stderr with a line per long step, and prints MATCH last."""
    if shutil.which("qemu-system-arm") is None:
        pytest.skip("no QEMU")
    cmd = [sys.executable, "-m", "tinytx.cli", "run", "radar", "--board", "nucleo_l476rg",
           "--build-dir", str(build_root)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "MATCH"
    assert "golden executor: 4 of 4 outputs bit-exact" in proc.stdout
    assert "board nucleo_l476rg_emu:" in proc.stdout and ": fits" in proc.stdout
    err = proc.stderr.splitlines()
    assert any(
        ln.startswith("nucleo_l476rg: ") and "running its emulated profile nucleo_l476rg_emu" in ln
        for ln in err
    )
    for step in ("converting ", "building firmware for m4 ", "running on QEMU ", "counting the "):
        assert any(ln.startswith(step) for ln in err), step


def test_two_run_commands_at_once_share_a_build_directory(build_root: Path) -> None:
    """Started together on the same sample and build directory, both runs succeed: one
    waits for the other's lock instead of configuring and linking into the same files."""
    build_dir = build_root / "concurrent-runs"
    cmd = [sys.executable, "-m", "tinytx.cli", "run", "ecg", "--board", "nucleo_l476rg_emu",
           "--emulate", "--no-count", "--build-dir", str(build_dir)]  # fmt: skip
    procs = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=600)[0] for p in procs]
    for p, out in zip(procs, outs, strict=True):
        assert p.returncode == 0 and out.strip().splitlines()[-1] == "MATCH", out[-2000:]


def test_make_demo_runs_the_radar_sample(build_root: Path) -> None:
    out, lines = cli_match("demo", "--sample", "radar", "--build-dir", str(build_root))
    assert "input 0: push (label push)" in out
    assert "golden executor: 4 of 4 outputs bit-exact" in out
    assert any(ln.startswith("modelled cycles (cortex-m4 cost table") for ln in lines)
    assert "board nucleo_l476rg_emu:" in out and ": fits" in out
