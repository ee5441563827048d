"""Code generation and planning: model.c/model.h are stable (same model, same bytes,
wherever they are written), compile warning-free (C99, -Werror) for host, Cortex-M and
RV32, and run bit-exact with the golden executor on host under AddressSanitizer and
UBSan inside an arena of exactly the planned size, for the layer-wise, depth-first
tiled and fused-weight attention schedules. ``tinytx convert`` exits 0 / 1 / 2.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinytx.core import executor, ir
from tinytx.core.codegen.model import generate
from tinytx.core.codegen.project import ConvertOptions, convert
from tinytx.core.frontend.onnx import load_onnx
from tinytx.core.frontend.onnx.testing import GraphBuilder, gelu_island, quantize_qdq, random_inputs
from tinytx.core.plan.planning import plan_model
from tinytx.core.resources import kernels_dir, samples_dir
from tinytx.core.targets import get_target
from tinytx.toolchain import firmware

pytestmark = pytest.mark.firmware

pytest.importorskip("onnxruntime")

SHAPE = (1, 12, 16)


def transformer(tmp: Path, heads: int = 2, head_dim: int = 8) -> Path:
    """A small encoder layer with a classifier, quantized, and its test inputs."""
    b = GraphBuilder(seed=11)
    x = b.input(SHAPE)
    t = b.linear(x, 16, bias=False)
    h = b.layernorm(b.add(t, b.mhsa(t, heads, head_dim)))
    h = b.layernorm(b.add(h, b.linear(b.gelu(b.linear(h, 32)), 16)))
    y = b.linear(b.mean(h, (1,)), 4, gemm=True)
    model = b.model(y)
    data = quantize_qdq(model, random_inputs(SHAPE, 24), nodes_to_exclude=gelu_island(model))
    path = tmp / "toy.onnx"
    path.write_bytes(data)
    np.savez(tmp / "test_inputs.npz", float=np.stack(random_inputs(SHAPE, 5, seed=3)))
    np.savez(tmp / "calib.npz", float=np.stack(random_inputs(SHAPE, 16, seed=4)))
    return path


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> Path:
    return transformer(tmp_path_factory.mktemp("toy"))


def test_same_model_same_bytes(toy: Path, tmp_path: Path) -> None:
    a = convert(toy, ConvertOptions(board="nucleo_l476rg_emu", kernels="ref"))
    b = convert(toy, ConvertOptions(board="nucleo_l476rg_emu", kernels="ref"))
    assert a.generated.source == b.generated.source and a.generated.header == b.generated.header
    (tmp_path / "one").mkdir()
    a.write(tmp_path / "one")
    b.write(tmp_path / "two" / "deeper")
    for f in ("model.c", "model.h", "test_data.c", "test_data.h", "plan.txt"):
        assert (tmp_path / "one" / f).read_bytes() == (tmp_path / "two" / "deeper" / f).read_bytes()
    text = a.generated.header
    assert a.model.source_sha256 in text and "tinytx 0.1.0" in text
    assert "plan:" in text and "arena:" in text and "FWSA no" in text
    assert f"#define TINYTX_TOY_ARENA_SIZE {a.plan.arena_bytes}" in text
    assert "tinytx_status tinytx_toy_run(const int8_t *in, int8_t *out, uint8_t *arena);" in text
    assert str(toy.parent) not in a.generated.source  # no absolute paths


def test_weights_are_const_in_their_section(toy: Path) -> None:
    src = convert(toy, ConvertOptions(kernels="ref")).generated.source
    lines = src.splitlines()
    arrays = [i for i, ln in enumerate(lines) if ln.startswith("static const int")]
    # placed by tinytx/compiler.h's portable macros, written before each declaration
    assert arrays and all(
        lines[i - 1] == "TINYTX_WEIGHTS_SECTION TINYTX_ALIGNED(4)" for i in arrays
    )
    assert "tinytx_mhsa_s8(&mhsa0_dims" in src  # straight-line kernel calls


@pytest.mark.parametrize(
    "cc, flags",
    [
        ("gcc", []),
        ("arm-none-eabi-gcc", ["-mcpu=cortex-m4", "-mthumb", "--specs=picolibc.specs"]),
        (
            "riscv64-unknown-elf-gcc",
            ["-misa-spec=2.2", "-march=rv32imc", "-mabi=ilp32", "--specs=picolibc.specs"],
        ),
    ],
)
def test_generated_code_compiles_warning_free(toy: Path, tmp_path: Path, cc: str, flags) -> None:
    if shutil.which(cc) is None:
        pytest.skip(f"{cc} not installed")
    convert(toy, ConvertOptions(mhsa="dft", tile=5, kernels="ref")).write(tmp_path)
    for src in ("model.c", "test_data.c"):
        cmd = [
            cc,
            *flags,
            "-std=c99",
            "-O2",
            "-Wall",
            "-Wextra",
            "-Wpedantic",
            "-Wshadow",
            "-Wconversion",
            "-Werror",
            "-I",
            str(kernels_dir() / "include"),
            "-I",
            str(tmp_path),
            "-c",
            str(tmp_path / src),
            "-o",
            str(tmp_path / (src + ".o")),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr


def run_on_host(toy: Path, opts: ConvertOptions, build_root: Path, tag: str):
    conv = convert(toy, opts)
    gen = (build_root / "codegen" / tag / "generated").resolve()
    conv.write(gen)
    target = get_target("host")
    elf = firmware.build(conv, gen, target, "ref", (build_root / "codegen" / tag / "fw").resolve())
    return conv, firmware.run(target, elf, timeout=120)


@pytest.mark.parametrize(
    "tag, opts",
    [
        ("layerwise", ConvertOptions(kernels="ref")),
        ("dft", ConvertOptions(mhsa="dft", tile=5, kernels="ref")),
        ("dft1", ConvertOptions(tile=1, kernels="ref")),
        ("fwsa", ConvertOptions(fwsa="on", kernels="ref", calibration=None)),
    ],
)
def test_host_run_bit_exact_in_planned_arena(toy: Path, build_root: Path, tag: str, opts) -> None:
    """ASan/UBSan host build: the static arena is exactly TINYTX_TOY_ARENA_SIZE bytes, so
    a kernel writing past its planned slot at the end of the arena is caught."""
    if tag == "fwsa":
        opts = ConvertOptions(fwsa="on", kernels="ref", calibration=toy.parent / "calib.npz")
    conv, run = run_on_host(toy, opts, build_root, tag)
    assert run.returncode == 0, run.console
    assert firmware.compare(conv, run) == []
    mh = next(op for op in conv.planned.ops if isinstance(op, ir.Mhsa))
    assert (mh.fwsa is not None) == (tag == "fwsa")
    assert mh.variant == ("layerwise" if tag in ("layerwise", "fwsa") else "dft")


def test_small_budget_picks_depth_first_tiles(toy: Path) -> None:
    m = load_onnx(toy)
    wide = plan_model(m)
    assert [op.variant for op in wide.model.ops if isinstance(op, ir.Mhsa)] == ["layerwise"]
    budget = wide.arena_bytes - 1
    tight = plan_model(m, budget=budget)
    (op,) = [op for op in tight.model.ops if isinstance(op, ir.Mhsa)]
    assert op.variant == "dft" and tight.arena_bytes <= budget and tight.fits
    # the largest tile that fits: one more row would not
    bigger = plan_model(m, tile=op.tile + 1) if op.tile < 12 else None
    assert bigger is None or bigger.arena_bytes > budget
    impossible = plan_model(m, budget=64)
    assert not impossible.fits and "no MHSA schedule fits" in " ".join(impossible.notes)
    # the executor runs the planned IR: the same bytes either way (DFT == layer-wise)
    x = executor.quantize_input(m, random_inputs(SHAPE, 1)[0])
    assert np.array_equal(executor.run(wide.model, x), executor.run(tight.model, x))


def test_linear_scratch_never_grows_the_arena() -> None:
    """arm: token-major linear layers get tinytx_linear_buf_s8's scratch where it costs no
    arena; with depth-first tiles of 1 row (ECG) the second FFN layer's would grow it, so
    it plans none there and the code calls tinytx_linear_s8 for it."""
    from tinytx.core.plan.scratch import KernelScratch

    m = load_onnx(samples_dir() / "ecg" / "model" / "model.onnx")
    linears = [op for op in m.ops if isinstance(op, ir.Linear)]
    for tile in (None, 1):
        plan = plan_model(m, tile=tile, kernels="arm")
        lean = plan_model(
            m,
            tile=tile,
            kernels="arm",
            scratch=KernelScratch("arm", no_linear=frozenset(op.name for op in linears)),
        )
        assert plan.arena_bytes == lean.arena_bytes
        with_scratch = {op.name for op in linears if op.name in plan.scratch}
        code = generate(plan, "model.onnx").source
        assert code.count("tinytx_linear_buf_s8(") == len(with_scratch)
        if tile is None:  # layer-wise: both FFN layers (the classifier has one row)
            assert len(with_scratch) == 2
        else:
            assert with_scratch == {linears[0].name}
    assert plan_model(m, kernels="ref").scratch.keys().isdisjoint(op.name for op in linears)


def test_arena_buffers_live_together_never_overlap(toy: Path) -> None:
    plan = plan_model(load_onnx(toy), budget=2000)
    a = plan.arena
    assert plan.fits and a.arena_bytes <= 2000
    names = list(a.offsets)
    for i, x in enumerate(names):
        assert a.offsets[x] % 4 == 0 and a.end(x) <= a.arena_bytes
        for y in names[i + 1 :]:
            live = a.lifetimes[x][0] <= a.lifetimes[y][1] and a.lifetimes[y][0] <= a.lifetimes[x][1]
            overlap = a.offsets[x] < a.end(y) and a.offsets[y] < a.end(x)
            shared = a.aliases.get(x) == y or a.aliases.get(y) == x
            assert not (live and overlap) or shared, f"{x} and {y}"
    # model input and output live in the caller's buffers, not in the arena
    m = plan.model
    assert plan.places[m.input][0] == "in" and plan.places[m.output][0] == "out"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tinytx.cli", *args], capture_output=True, text=True, timeout=600
    )


def test_convert_command_exit_codes(toy: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    ok = run_cli(
        "convert",
        str(toy),
        "-o",
        str(out),
        "--board",
        "nucleo_l476rg_emu",
        "--kernels",
        "ref",
    )
    assert ok.returncode == 0, ok.stderr
    assert (out / "model.c").is_file() and (out / "model.h").is_file()
    assert "arena:" in ok.stdout and (out / "plan.txt").read_text() in ok.stdout + "\n"
    small = run_cli(
        "convert",
        str(toy),
        "-o",
        str(tmp_path / "no"),
        "--board",
        "nucleo_l476rg_emu",
        "--reserve",
        str(131072 - 200),
        "--kernels",
        "ref",
    )
    assert small.returncode == 1
    assert "does not fit nucleo_l476rg_emu: arena" in small.stderr and "> 200 bytes" in small.stderr
    assert not (tmp_path / "no").exists()
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    err = run_cli("convert", str(bad), "-o", str(tmp_path / "x"))
    assert err.returncode == 2
    assert len(err.stderr.strip().splitlines()) == 1 and "not an ONNX model" in err.stderr


@pytest.mark.parametrize("name", ["radar", "eeg", "ecg"])
def test_sample_generation_is_stable(name: str) -> None:
    path = samples_dir() / name / "model" / "model.onnx"
    a = generate(plan_model(load_onnx(path)), path.name)
    b = generate(plan_model(load_onnx(path)), path.name)
    assert a.source == b.source and a.header == b.header


def test_node_names_cannot_break_the_c_source(toy: Path, tmp_path: Path) -> None:
    import onnx

    m = onnx.load(str(toy))
    for i, node in enumerate(m.graph.node):
        node.name = f"evil */ #error {i}\n/*"
    path = tmp_path / "evil.onnx"
    onnx.save(m, str(path))
    conv = convert(path, ConvertOptions(kernels="ref"))
    conv.write(tmp_path / "out")  # a directory of its own: write() replaces all it holds
    proc = subprocess.run(
        [
            "gcc",
            "-std=c99",
            "-Wall",
            "-Werror",
            "-I",
            str(kernels_dir() / "include"),
            "-c",
            str(tmp_path / "out" / "model.c"),
            "-o",
            str(tmp_path / "model.o"),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "evil *_/ #error" in conv.generated.source
