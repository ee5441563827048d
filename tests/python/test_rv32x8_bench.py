"""`tinytx bench --target rv32x8`: exact instructions per hart, critical path, speedup."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tinytx.toolchain.bench import rv32x8
from tinytx.toolchain.bench.run import parse_shape
from tinytx.toolchain.emu.unicorn_riscv import RiscvCoreRunner, rvc_instruction_count

pytestmark = pytest.mark.firmware

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def bench_elf(build_root: Path) -> Path:
    return rv32x8.build_elf(build_root)


def test_rvc_instruction_count() -> None:
    # c.addi (0x0505), addi a0,a0,1 (0x00150513), c.ret (0x8082)
    assert rvc_instruction_count(bytes.fromhex("0505130515008280")) == 3
    with pytest.raises(ValueError, match="inside a 32-bit instruction"):
        rvc_instruction_count(b"\x13\x05")  # a 32-bit opcode cut after 2 bytes
    with pytest.raises(ValueError, match="inside a halfword"):
        rvc_instruction_count(b"\x05")


def test_runner_splits_counts_by_core(bench_elf: Path) -> None:
    """gelu on 64 elements: one section, 8 cores, each its own count; 1 core: all of it."""
    runner = RiscvCoreRunner(bench_elf)
    params = runner.alloc(bytes(20))  # q_clip, q_one, multiplier, shift: set below
    runner.write(params, (3).to_bytes(4, "little") + (100).to_bytes(4, "little")
                 + (1 << 30).to_bytes(4, "little") + (20).to_bytes(4, "little"))  # fmt: skip
    data = runner.alloc(bytes(range(64)))
    out = runner.alloc(64)
    runner.set_cores(1)
    one = runner.call("tinytx_gelu_s8", [64, params, data, out])
    first = runner.read(out, 64)
    runner.set_cores(8)
    eight = runner.call("tinytx_gelu_s8", [64, params, data, out])
    assert one.return_value == eight.return_value == 0
    assert runner.read(out, 64) == first  # same result on 8 emulated cores
    assert len(one.cores) == 1 and len(eight.cores) == 8 and eight.forks == 1
    assert eight.glue > 0 and min(eight.cores) > 0
    assert eight.per_hart[0] == eight.serial + eight.cores[0]
    assert eight.critical_path == max(eight.per_hart) < one.critical_path
    with pytest.raises(ValueError, match=r"not in 1\.\.64"):
        runner.set_cores(0)
    with pytest.raises(ValueError, match="not found"):
        runner.call("no_such_function", [])


def test_whole_mhsa_speedup_at_least_7x_on_shapes_a_and_c(bench_elf: Path) -> None:
    for name in ("A", "C"):
        split = rv32x8.measure_shape(bench_elf, parse_shape(name), seed=7, kernels=("mhsa",))
        mhsa = split.kernels["mhsa"]
        assert len(mhsa.per_hart) == 8 and mhsa.forks == 3
        assert mhsa.speedup >= 7.0, f"shape {name}: {mhsa.speedup:.2f}x"
        assert mhsa.speedup <= 8.0 + 1e-9
        assert sum(mhsa.per_hart) >= mhsa.one_hart  # the split adds work, never removes it


def test_cli_table_json_and_speedup_last_line(build_root: Path, tmp_path: Path) -> None:
    out_json, out_png = tmp_path / "b.json", tmp_path / "b.png"
    cmd = [
        sys.executable, "-m", "tinytx.cli", "bench", "--target", "rv32x8", "--shape", "B",
        "--speedup", "--json", str(out_json), "--plot", str(out_png),
        "--build-dir", str(build_root),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO_ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    speedup = float(lines[-1])
    assert lines[-1] == f"{speedup:.3f}"
    assert "hart7" in proc.stdout and "barrier waiting excluded" in proc.stdout
    data = json.loads(out_json.read_text())
    assert data["target"] == "rv32x8" and data["harts"] == 8
    (shape,) = data["shapes"]
    assert shape["shape"] == "B" and abs(shape["mhsa_speedup"] - speedup) < 1e-3
    kernels = {k["kernel"]: k for k in shape["kernels"]}
    assert set(kernels) == set(rv32x8.KERNELS)
    for k in kernels.values():
        assert len(k["per_hart_instructions"]) == 8
        assert k["critical_path_instructions"] == max(k["per_hart_instructions"])
        assert k["speedup"] == pytest.approx(
            k["one_hart_instructions"] / k["critical_path_instructions"]
        )
        assert 0.0 <= k["load_imbalance"] < 0.1 and k["output_matches_golden"]
    assert out_png.read_bytes()[:4] == b"\x89PNG"


def test_cli_refuses_what_rv32x8_does_not_measure(build_root: Path) -> None:
    for extra, message in (
        (["--total", "--shape", "A"], "--total: not available with --target rv32x8"),
        (["--speedup"], "--speedup: needs exactly one --shape"),
        (["--kernels", "arm"], "--kernels: --target rv32x8 measures the riscv kernels only"),
    ):
        cmd = [sys.executable, "-m", "tinytx.cli", "bench", "--target", "rv32x8", *extra]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO_ROOT, timeout=60)
        assert proc.returncode == 2, proc.stderr
        assert message in proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "tinytx.cli", "bench", "--target", "m4", "--speedup"],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2 and "--speedup: only with --target rv32x8" in proc.stderr
