"""Planning for the cores the firmware runs: the riscv kernels keep a working set per core,
so their scratch grows with the core count, which the planner takes from the C.

- every kernel call's planned scratch equals the C ``*_get_buffer_size`` of the riscv
  kernels (:func:`tinytx.core.kernel_abi.kernel_abi`) for 1, 2, 4 and 8 cores, asked here
  call by call from the op's own dims, and the call gets that slice of the arena as its
  ``tinytx_context``;
- the generated code records the cores (``TINYTX_<NAME>_CORES``) and refuses to run on
  another count with its own status (``TINYTX_<NAME>_ERR_CORES``), in plan.txt and the
  provenance too;
- firmware (QEMU virt with that many harts, the rv32_smp port): one firmware per core
  count runs the three samples planned for it, bit-exact with the golden executor; the
  8-core firmware on 4 harts stops at the first inference with the named status.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tinytx.core import ir
from tinytx.core.codegen.model import ERR_CORES
from tinytx.core.codegen.project import Conversion, ConvertOptions, convert
from tinytx.core.kernel_abi import kernel_abi
from tinytx.core.resources import samples_dir
from tinytx.core.targets import get_target
from tinytx.toolchain import firmware

SAMPLES = ("radar", "eeg", "ecg")
CORES = (1, 2, 4, 8)


def onnx_path(name: str) -> Path:
    return samples_dir() / name / "model" / "model.onnx"


def c_scratch(model: ir.Model, op: ir.Op, cores: int) -> int:
    """The riscv kernels' C scratch of one op's call, from its dims (0: none)."""
    abi, t = kernel_abi("riscv"), model.tensors
    if isinstance(op, ir.Mhsa):
        s, e = t[op.inputs[0]].shape
        dims = (s, e, op.heads, op.head_dim)
        kind = "fwsa" if op.fwsa is not None else "mhsa"
        if op.variant == "dft":
            return abi.buffer_size(f"{kind}_dft_s8", *dims, op.tile, cores)
        return abi.buffer_size(f"{kind}_s8", *dims, cores)
    if isinstance(op, ir.Linear):
        n, k = op.weight.shape
        layout = abi.constant("TINYTX_LAYOUT_TOKEN_MAJOR")
        assert layout is not None
        return abi.linear_buf_buffer_size(t[op.output].size // n, k, n, 1, layout, cores)
    if isinstance(op, ir.Conv2d) and not isinstance(op, ir.DepthwiseConv2d):
        _, ih, iw, ic = t[op.inputs[0]].shape
        _, oh, ow, oc = t[op.output].shape
        kh, kw = op.weight.shape[1:3]
        fields = (ih, iw, ic, oh, ow, oc, kh, kw, *op.stride, *op.pad)
        return abi.conv2d_buffer_size(*fields, num_cores=cores)
    return 0


def converted(name: str, cores: int) -> Conversion:
    return convert(onnx_path(name), ConvertOptions(kernels="riscv", cores=cores))


@pytest.mark.parametrize("name", SAMPLES)
def test_planned_scratch_is_the_c_size_for_each_core_count(name: str) -> None:
    sizes = {}
    for cores in CORES:
        conv = converted(name, cores)
        plan = conv.plan
        assert plan.cores == cores and plan.kernels == "riscv"
        for op in plan.model.ops:
            want = c_scratch(plan.model, op, cores)
            got = plan.scratch.get(op.name, (0, 0))[1]
            assert got == want, (name, cores, op.name)
            if want:
                off = plan.scratch[op.name][0]
                macro = f"TINYTX_{plan.model.name.upper()}_OFF_{op.name.upper()}_SCRATCH"
                ctx = f"{op.name}_ctx = {{.buf = arena + {macro}, .size = {want}}};"
                assert ctx in conv.generated.source
                assert f"#define {macro} {off} " in conv.generated.source
        sizes[cores] = {op: size for op, (_, size) in plan.scratch.items()}
    # the attention blocks' scratch grows with the cores (a working set per core)
    assert any(sizes[8][op] > sizes[1][op] for op in sizes[1]), sizes


def test_generated_code_records_and_checks_the_cores(tmp_path: Path) -> None:
    conv = converted("radar", 4)
    up = conv.planned.name.upper()
    assert f"#define TINYTX_{up}_CORES 4\n" in conv.generated.header
    assert (
        f"#define TINYTX_{up}_ERR_CORES ((tinytx_status)({ERR_CORES}))\n" in conv.generated.header
    )
    body = conv.generated.source.split(f"tinytx_status tinytx_{conv.planned.name}_run(", 1)[1]
    check = f"if (tinytx_parallel_num_cores() != TINYTX_{up}_CORES) {{"
    assert check in body and body.index(check) < body.index("st = tinytx_")
    assert "st = tinytx_mhsa_s8(&mhsa0_dims, &mhsa0_params, &mhsa0_weights" in body
    assert "&mhsa0_ctx);" in body and "_get_buffer_size" not in body
    conv.write(tmp_path)
    assert (
        "cores: 4 (the firmware's tinytx_parallel_num_cores())"
        in (tmp_path / "plan.txt").read_text()
    )
    record = json.loads((tmp_path / "tinytx-model.json").read_text())
    assert record["planned"] == {"kernels": "riscv", "cores": 4}
    assert record["options"]["cores"] == 4


def test_cores_default_to_the_board_and_are_checked() -> None:
    from tinytx.core.codegen.project import default_cores, default_kernels

    assert default_cores(None) == 1 and default_cores("nucleo_l476rg") == 1
    assert default_cores("gap9") == 8 and default_kernels("gap9") == "riscv"
    assert get_target("rv32x8").cores == 8 and get_target("rv32").cores == 1
    top = kernel_abi("ref").constant("TINYTX_PARALLEL_SERIAL_MAX_CORES")
    for bad in (0, -1, (top or 0) + 1):
        with pytest.raises(ValueError, match=r"--cores: cores must be an integer in 1\.\."):
            converted("radar", bad)


def test_cli_convert_cores(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tinytx.cli.app import main

    out = tmp_path / "out"
    args = ["convert", str(onnx_path("radar")), "-o", str(out), "--kernels", "riscv"]
    assert main([*args, "--cores", "2"]) == 0
    assert "#define TINYTX_RADAR_CORES 2" in (out / "model.h").read_text()
    assert "cores: 2" in capsys.readouterr().out
    assert main([*args, "--cores", "0"]) == 2
    assert "--cores: cores must be an integer in 1.." in capsys.readouterr().err


def test_qemu_runs_the_planned_cores() -> None:
    rv = get_target("rv32x8")
    assert rv.qemu_command(Path("x.elf"), [])[5:7] == ["-smp", "8"]
    assert rv.with_cores(2).qemu_command(Path("x.elf"), [])[5:7] == ["-smp", "2"]
    with pytest.raises(ValueError, match=r"runs 1\.\.8 cores"):
        rv.with_cores(9)
    with pytest.raises(ValueError, match="runs one core"):
        get_target("rv32").with_cores(2)


@pytest.mark.firmware
def test_firmware_for_each_core_count_matches(build_root: Path) -> None:
    target = get_target("rv32x8")
    if shutil.which(target.qemu[0]) is None or shutil.which(f"{target.toolchain}-gcc") is None:
        pytest.skip("no toolchain/QEMU for rv32x8")
    elves = {}
    for cores in CORES:
        root = (build_root / "cores" / str(cores)).resolve()
        convs = [converted(name, cores) for name in SAMPLES]
        dirs = [root / "generated" / name for name in SAMPLES]
        for conv, d in zip(convs, dirs, strict=True):
            conv.write(d)
        elf = firmware.build_multi(convs, dirs, target, "riscv", root / "firmware")
        elves[cores] = elf
        run = firmware.run(target.with_cores(cores), elf, timeout=600)
        assert run.returncode == 0, run.console
        for conv in convs:
            assert firmware.compare(conv, run, section=conv.planned.name) == [], cores
    # planned for 8, run on 4 harts: the model's own status, before any kernel runs
    run = firmware.run(target.with_cores(4), elves[8], timeout=600)
    assert run.returncode != 0
    assert f"the model returned {ERR_CORES}" in run.console
