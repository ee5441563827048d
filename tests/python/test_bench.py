"""`tinytx bench`: the instruction-budget gate (CI), the cost model, outputs and errors.

The gate measures shapes A-D with each target's default kernels on m4 and m7 (one ELF
and one unicorn runner per target, both targets in parallel processes) and checks the
counts against tests/bench/budgets.json. The other tests use tiny custom shapes.
"""

from __future__ import annotations

import json
import multiprocessing
import shutil
import struct
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from tinytx.cli import main
from tinytx.core.targets import get_target
from tinytx.core.workloads import (
    SHAPES,
    MhsaShape,
    MhsaWorkload,
)
from tinytx.toolchain.bench import budget as bud
from tinytx.toolchain.bench.cases import (
    KERNELS,
    WHOLE_BLOCK,
    BenchMismatch,
    alloc_context,
    stage_work,
)
from tinytx.toolchain.bench.costs import CostModel, CostModelError, load_cost_tables
from tinytx.toolchain.bench.elementwise import ELEMENTWISE
from tinytx.toolchain.bench.firmware import compiler_version
from tinytx.toolchain.bench.run import (
    BENCH_KERNELS,
    DEFAULT_SEED,
    BenchSession,
    ShapeMeasurement,
    VariantRun,
    measure_variant,
    parse_shape,
    parse_shapes,
)

pytestmark = pytest.mark.firmware

GATE_TARGETS = ("m4", "m7")
TINY = "8,16,4,2"  # S=8 E=16 P=4 H=2


# ----------------------------------------------------------------- the CI gate
@pytest.fixture(scope="session")
def gate_runs(build_root: Path) -> dict[str, VariantRun]:
    """Shapes A-D, default kernels, on m4 and m7 (one process per target)."""
    specs = parse_shapes(None)
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=len(GATE_TARGETS), mp_context=ctx) as pool:
        futures = {
            t: pool.submit(measure_variant, t, specs, None, DEFAULT_SEED, build_root)
            for t in GATE_TARGETS
        }
        return {t: f.result() for t, f in futures.items()}


@pytest.mark.parametrize("target", GATE_TARGETS)
def test_instruction_budgets(gate_runs: dict[str, VariantRun], target: str) -> None:
    run = gate_runs[target]
    assert run.variant == get_target(target).default_kernels
    compiler = compiler_version(get_target(target))
    check = bud.check_budgets(bud.default_budget_file(), run, DEFAULT_SEED, compiler)
    assert len(check.entries) == len(SHAPES) * len(BENCH_KERNELS)
    assert check.ok, "\n".join(e.message() for e in check.failures)


ARM_STAGES = {"qkv_proj", "qk", "softmax", "av", "out_proj"}


def check_stages(shape: ShapeMeasurement) -> dict[str, int]:
    """The block's stage split is exact: it adds up to the block's instructions."""
    block = shape.kernels[WHOLE_BLOCK]
    assert block.stages is not None
    assert sum(block.stages.values()) == block.instructions
    assert all(v > 0 for v in block.stages.values())
    return block.stages


@pytest.mark.parametrize("target", GATE_TARGETS)
def test_whole_block_counts_are_plausible(gate_runs: dict[str, VariantRun], target: str) -> None:
    for shape in gate_runs[target].shapes:
        block = shape.kernels[WHOLE_BLOCK]
        parts = sum(shape.kernels[k].instructions for k in KERNELS if k != WHOLE_BLOCK)
        assert block.macs == shape.spec.shape.macs
        assert sum(shape.kernels[k].macs for k in KERNELS if k != WHOLE_BLOCK) == block.macs
        # the arm block runs its own fused schedule: cheaper than its kernels one by one
        assert block.instructions < parts
        stages = check_stages(shape)
        assert ARM_STAGES <= set(stages) <= ARM_STAGES | {"other"}
        assert stages.get("other", 0) < 0.05 * block.instructions
        assert block.modelled_cycles > 0
        size = shape.spec.shape.seq_len * shape.spec.shape.embed_dim
        assert all(shape.kernels[k].elements == size for k in ELEMENTWISE)


#: Declared whole-block targets on M4. B meets its goal (0.75 M); A, C and D are held
#: near their measured counts (5.54 M, 8.31 M, 12.88 M) while their goals (5.2 M, 8.0 M,
#: 12.5 M) stay open: docs/benchmarks.md says what the remaining instructions are.
SPEED_TARGETS = {"A": 5_700_000, "B": 750_000, "C": 8_500_000, "D": 13_200_000}


@pytest.mark.parametrize("shape", ["A", "C"])
def test_projections_reach_one_mac_per_instruction(
    gate_runs: dict[str, VariantRun], shape: str
) -> None:
    """Speed target: every linear projection of the block >= 1.0 MAC/instruction on A and C."""
    for target in GATE_TARGETS:
        measured = gate_runs[target].shape(shape)
        stages = check_stages(measured)
        for stage in ("qkv_proj", "out_proj"):
            macs, _ = stage_work(measured.spec.shape, stage)
            ratio = macs / stages[stage]
            assert ratio >= 1.0, f"{target} shape {shape} {stage}: {ratio:.3f} MAC/insn"


def test_whole_block_meets_its_speed_target(gate_runs: dict[str, VariantRun]) -> None:
    """Speed target: exact instructions of one block on M4 under its target; M7 within 5 %."""
    for name, limit in SPEED_TARGETS.items():
        m4 = gate_runs["m4"].shape(name).total_instructions
        m7 = gate_runs["m7"].shape(name).total_instructions
        assert m4 <= limit, f"shape {name}: {m4:,} instructions on m4, target {limit:,}"
        assert abs(m7 - m4) <= 0.05 * m4


# ------------------------------------------------------------- CLI contract
def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tinytx.cli", *args], capture_output=True, text=True, timeout=600
    )


def test_tile_measures_the_depth_first_block(build_root: Path, tmp_path: Path) -> None:
    """m4 --tile: the DFT block on the same data (checked against the golden model), its
    row after the shape's table, its count as --total's last line and in the JSON."""
    out = tmp_path / "bench.json"
    proc = run_cli(
        "bench", "--target", "m4", "--shape", "9,12,4,3", "--tile", "4", "--total",
        "--json", str(out), "--no-compare", "--build-dir", str(build_root),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    last = proc.stdout.rstrip("\n").splitlines()[-1]
    (shape,) = json.loads(out.read_text())["shapes"]
    dft = shape["dft"]
    assert (dft["kernel"], dft["function"], dft["tile_rows"]) == (
        "mhsa_dft x=4", "tinytx_mhsa_dft_s8", 4,
    )  # fmt: skip
    assert int(last) == dft["instructions"] != shape["total_instructions"]
    assert dft["scratch_bytes"] > 0 and {s["stage"] for s in dft["stages"]} >= ARM_STAGES
    assert sum(s["instructions"] for s in dft["stages"]) == dft["instructions"]
    assert "mhsa_dft x=4 (depth-first block" in proc.stdout


def test_total_is_the_last_line_and_matches_the_json(
    gate_runs: dict[str, VariantRun], build_root: Path, tmp_path: Path
) -> None:
    out = tmp_path / "bench.json"
    proc = run_cli(
        "bench", "--target", "m4", "--shape", "A", "--total", "--json", str(out),
        "--build-dir", str(build_root),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    last = proc.stdout.rstrip("\n").splitlines()[-1]
    assert last.isdigit(), repr(last)
    data = json.loads(out.read_text())
    (shape,) = data["shapes"]
    assert (shape["name"], shape["S"], shape["E"], shape["P"], shape["H"]) == ("A", 81, 32, 32, 8)
    block = next(k for k in shape["kernels"] if k["kernel"] == WHOLE_BLOCK)
    assert int(last) == shape["total_instructions"] == block["instructions"]
    # deterministic: the same count as the gate's run of the same ELF and data
    assert int(last) == gate_runs["m4"].shape("A").total_instructions
    assert data["kernels"] == "arm" and data["reference_kernels"] == "ref"
    assert [k["kernel"] for k in shape["kernels"]] == list(BENCH_KERNELS)
    for k in shape["kernels"]:
        assert k["output_matches_golden"] is True
        if k["kernel"] in ELEMENTWISE:
            assert k["macs"] == 0 and k["mac_per_instruction"] is None
            assert k["instructions_per_element"] == pytest.approx(k["instructions"] / k["elements"])
        else:
            assert k["mac_per_instruction"] == pytest.approx(k["macs"] / k["instructions"])
        assert k["speedup_vs_reference_instructions"] == pytest.approx(
            k["reference_instructions"] / k["instructions"]
        )
        assert k["modelled_cycles"] > 0
    assert "modelled" in data["units"]["modelled_cycles"]
    assert "modelled cycles" in proc.stdout and "MAC/insn" in proc.stdout
    stages = block["stages"]
    assert sum(st["instructions"] for st in stages) == block["instructions"]
    assert {st["stage"] for st in stages} >= ARM_STAGES
    assert "mhsa by stage" in proc.stdout


def test_json_to_stdout_and_plot(build_root: Path, tmp_path: Path) -> None:
    png = tmp_path / "bench.png"
    proc = run_cli(
        "bench", "--target", "m7", "--shape", TINY, "--kernels", "ref", "--json", "-",
        "--plot", str(png), "--build-dir", str(build_root),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["target"] == "m7" and data["cpu"] == "cortex-m7"
    assert data["shapes"][0]["name"] == TINY
    assert data["cost_model"]["cpu"] == "cortex-m7"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------- shapes and errors
def test_shape_parsing() -> None:
    assert parse_shape("a").shape == SHAPES["A"]
    assert parse_shape("81,32,32,8").name == "A"  # S,E,P,H of shape A
    spec = parse_shape(" 8, 16, 4, 2 ")
    assert spec.name == TINY
    assert spec.shape == MhsaShape(seq_len=8, embed_dim=16, heads=2, head_dim=4)
    assert [s.name for s in parse_shapes(None)] == ["A", "B", "C", "D"]
    assert [s.name for s in parse_shapes(["B", "b", "66,16,2,8"])] == ["B"]
    for bad in ("E", "1,2,3", "1,2,3,4,5", "a,b,c,d", "0,16,4,2", "2000,16,4,2", ""):
        with pytest.raises(ValueError, match="--shape"):
            parse_shape(bad)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--shape", "1,2,3"], "--shape: '1,2,3' is not a shape"),
        (["--shape", "8,16,0,2"], "must all be >= 1"),
        (["--shape", "Z"], "is not a shape"),
        (["--total"], "--total: needs exactly one --shape"),
        (["--shape", "A", "B", "--total"], "--total: needs exactly one --shape"),
        (["--target", "rv32"], "emulated Cortex-M"),
        (["--target", "nosuchboard"], "unknown target 'nosuchboard'"),
    ],
)
def test_errors_are_one_line(args: list[str], message: str) -> None:
    proc = run_cli("bench", *args)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "Traceback" not in proc.stderr


def test_exp_table_only_in_an_exp_table_build(build_root: Path) -> None:
    """`tinytx bench --exp-table` (and run) links the 64 KiB exp table; the default not."""
    from tinytx.toolchain.bench.firmware import build_bench_elf
    from tinytx.toolchain.report.elf import read_elf

    m4 = get_target("m4")
    default = {s.name for s in read_elf(build_bench_elf(m4, "arm", build_root)).symbols}
    table = {s.name for s in read_elf(build_bench_elf(m4, "arm", build_root, True)).symbols}
    assert "tt_exp_x_table" not in default and "tt_exp4x_scaled" not in default
    assert {"tt_exp_x_table", "tt_exp4x_scaled", "tt_exp4x_h1"} <= table
    with pytest.raises(ValueError, match="only with the arm kernels"):
        build_bench_elf(m4, "ref", build_root, True)


# ------------------------------------------------- wrong outputs fail loudly
@pytest.fixture(scope="module")
def tiny_session(build_root: Path) -> BenchSession:
    return BenchSession(get_target("m4"), "arm", build_root)


@pytest.mark.parametrize(
    ("tensor", "kernel"), [("q", "q_proj"), ("a", "qk_softmax"), ("o", "av"), ("y", "out_proj")]
)
def test_a_wrong_output_fails_the_bench(
    tiny_session: BenchSession, monkeypatch: pytest.MonkeyPatch, tensor: str, kernel: str
) -> None:
    import tinytx.toolchain.bench.run as run_module

    real = run_module.golden_trace

    def corrupted(work: MhsaWorkload) -> dict[str, np.ndarray]:
        trace = dict(real(work))
        bad = trace[tensor].copy()
        flat = bad.reshape(-1)
        flat[3] = flat[3] ^ (0x7F if bad.dtype == np.int8 else 0xFF)
        trace[tensor] = bad
        return trace

    monkeypatch.setattr(run_module, "golden_trace", corrupted)
    with pytest.raises(BenchMismatch, match=rf"kernel {kernel} .*differs from the golden model"):
        tiny_session.measure(parse_shape(TINY))


def test_a_write_past_the_output_fails_the_bench(
    tiny_session: BenchSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tinytx.toolchain.bench.run as run_module

    real = run_module.golden_trace

    def one_byte_short(work: MhsaWorkload) -> dict[str, np.ndarray]:
        trace = dict(real(work))
        trace["q"] = trace["q"].reshape(-1)[:-1]  # the kernel's last byte lands in the guard
        return trace

    monkeypatch.setattr(run_module, "golden_trace", one_byte_short)
    with pytest.raises(BenchMismatch, match=r"kernel q_proj .*wrote past the end"):
        tiny_session.measure(parse_shape(TINY))


def test_the_bench_passes_on_correct_outputs_and_keeps_every_kernel(
    tiny_session: BenchSession,
) -> None:
    shape = tiny_session.measure(parse_shape(TINY))
    assert set(shape.kernels) == set(BENCH_KERNELS)
    assert ARM_STAGES <= set(check_stages(shape))
    for name in ("tinytx_layernorm_s8", "tinytx_gelu_s8", "tinytx_add_s8", "tinytx_fwsa_s8"):
        assert tiny_session.runner.symbol(name)  # no kernel dropped by --gc-sections


def test_cli_reports_a_wrong_kernel_as_a_failure(
    build_root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import tinytx.toolchain.bench.run as run_module

    real = run_module.golden_trace

    def corrupted(work: MhsaWorkload) -> dict[str, np.ndarray]:
        trace = dict(real(work))
        trace["y"] = trace["y"] + np.int8(1)
        return trace

    monkeypatch.setattr(run_module, "golden_trace", corrupted)
    rc = main(["bench", "--shape", TINY, "--kernels", "ref", "--build-dir", str(build_root)])
    assert rc == 1
    assert "FAILED" in capsys.readouterr().err


# -------------------------------------------------------------- budget file
def test_budget_check_fails_above_two_percent(
    build_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "budgets.json"
    common = ["bench", "--shape", TINY, "--kernels", "ref", "--build-dir", str(build_root),
              "--budget", str(path)]  # fmt: skip
    assert main([*common, "--update-budget"]) == 0
    data = json.loads(path.read_text())
    counts = data["budgets"]["m4"]["ref"][TINY]
    assert list(counts) == list(BENCH_KERNELS)
    capsys.readouterr()
    assert main([*common, "--check-budget"]) == 0
    n = len(BENCH_KERNELS)
    assert f"budget: OK, none of the {n} counts is more than 2 % over" in capsys.readouterr().err

    count = counts["av"]
    counts["av"] = int(count / 1.019)  # 1.9 % over: still within the tolerance
    path.write_text(json.dumps(data))
    assert main([*common, "--check-budget"]) == 0
    capsys.readouterr()

    counts["av"] = int(count / 1.05)  # 5 % over
    path.write_text(json.dumps(data))
    assert main([*common, "--check-budget"]) == 1
    err = capsys.readouterr().err
    line = next(ln for ln in err.splitlines() if "over budget" in ln)
    assert "kernel av, shape 8,16,4,2, target m4 (ref)" in line
    assert f"{count:,} instructions, budget {counts['av']:,} (+5.0" in line
    assert "FAILED" in err

    del counts["mhsa"]  # a count without a budget fails too
    counts["av"] = count
    path.write_text(json.dumps(data))
    assert main([*common, "--check-budget"]) == 1
    assert "no budget for kernel mhsa" in capsys.readouterr().err

    compiler = data["compilers"]["m4"]
    assert compiler == compiler_version(get_target("m4")) and "gcc" in compiler
    data["compilers"]["m4"] = "arm-none-eabi-gcc (other) 99.1.0"  # another compiler
    path.write_text(json.dumps(data))
    assert main([*common, "--check-budget"]) == 2
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert "recorded with 'arm-none-eabi-gcc (other) 99.1.0'" in last
    assert "over budget" not in err
    data["compilers"]["m4"] = compiler

    data["seed"] = 1234
    path.write_text(json.dumps(data))
    assert main([*common, "--check-budget"]) == 2
    assert "recorded with --seed 1234" in capsys.readouterr().err

    assert main([*common[:-1], str(tmp_path / "missing.json"), "--check-budget"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_committed_budget_file_is_complete() -> None:
    data = bud.load_budgets(bud.default_budget_file())
    assert data["seed"] == DEFAULT_SEED
    for target in GATE_TARGETS:
        assert data["compilers"][target].startswith("arm-none-eabi-gcc")
        variant = get_target(target).default_kernels
        for shape in SHAPES:
            counts = data["budgets"][target][variant][shape]
            assert list(counts) == list(BENCH_KERNELS)
            assert all(isinstance(v, int) and v > 0 for v in counts.values())


# --------------------------------------------------------------- cost model
def assemble(source: str, *flags: str) -> bytes:
    """Thumb machine code of `source` (arm-none-eabi-as, then the raw .text)."""
    if shutil.which("arm-none-eabi-as") is None:
        pytest.skip("arm-none-eabi-as not installed")
    return _assemble(source, flags)


def _assemble(source: str, flags: tuple[str, ...]) -> bytes:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        src, obj, raw = Path(d, "a.s"), Path(d, "a.o"), Path(d, "a.bin")
        src.write_text(".syntax unified\n.thumb\n" + source + "\n")
        subprocess.run(
            ["arm-none-eabi-as", "-mcpu=cortex-m4", "-mthumb", *flags, "-o", obj, src],
            check=True,
        )
        subprocess.run(
            ["arm-none-eabi-objcopy", "-O", "binary", "-j", ".text", obj, raw], check=True
        )
        return raw.read_bytes()


@pytest.mark.parametrize(
    ("cpu", "source", "cycles"),
    [
        # M4 (TRM): a load is 2; a load or store right after a load is pipelined (1)...
        ("cortex-m4", "ldr r0, [r1]\nldr r2, [r3]", 3),
        # ...unless its address uses the loaded register
        ("cortex-m4", "ldr r0, [r1]\nldr r2, [r0]", 4),
        # the base write-back of a post-indexed load is not its loaded register
        ("cortex-m4", "ldr r0, [r1], #4\nldr r2, [r1], #4", 3),
        # address computed by the previous data-processing instruction: +1 stall
        ("cortex-m4", "adds r1, #4\nldr r0, [r1]", 4),
        # STR with an immediate offset is 1, with a register offset 2
        ("cortex-m4", "str r0, [r1, #4]\nstr r0, [r1, r2]", 3),
        ("cortex-m4", "ldrd r0, r1, [r2]", 3),
        ("cortex-m4", "push {r4-r7, lr}", 6),
        ("cortex-m4", "pop {r4-r7, pc}", 8),  # 1 + N + P
        ("cortex-m4", "smlad r0, r1, r2, r0\nsxtb16 r3, r4\nudiv r0, r1, r2", 9),
        ("cortex-m4", "bx lr", 3),
        # M7: independent neighbours dual-issue, dependent ones do not
        ("cortex-m7", "adds r0, r0, #1\nadd r1, r1, #1", 1),
        ("cortex-m7", "add r0, r0, #1\nadd r1, r0, #1", 2),
        ("cortex-m7", "smlad r0, r1, r2, r0\nsmlad r3, r1, r2, r3", 2),
        ("cortex-m7", "ldr r4, [r5]\nsmlad r0, r1, r2, r0", 1),
        ("cortex-m7", "ldr r4, [r5]\nldr r6, [r7]", 2),
        ("cortex-m7", "cmp r0, r1\nadd r2, r2, #1\nadd r3, r3, #1", 2),
        ("cortex-m7", "push {r4-r7, lr}", 4),  # 1 + ceil(5 / 2)
    ],
)
def test_cost_model_rules(cpu: str, source: str, cycles: int) -> None:
    code = assemble(source)
    block = CostModel(cpu).block(code, 0x1000)
    assert block.cycles == cycles
    assert block.instructions == source.count("\n") + 1
    assert block.fallthrough == 0x1000 + len(code)


def test_a_conditional_branch_pays_the_refill_only_when_taken() -> None:
    code = assemble("subs r0, #1\nbne .-2")
    block = CostModel("cortex-m4").block(code, 0x2000)
    assert (block.cycles, block.taken_penalty) == (2, 2)
    assert CostModel("cortex-m7").block(code, 0x2000).taken_penalty == 0


def test_an_instruction_without_a_class_is_an_error() -> None:
    code = assemble("vadd.f32 s0, s1, s2", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard")
    with pytest.raises(CostModelError, match="in no class of the cost table"):
        CostModel("cortex-m4").block(code, 0)


def test_cost_tables_price_every_class_for_both_cpus() -> None:
    tables = load_cost_tables()
    assert {"cortex-m4", "cortex-m7"} <= set(tables.cpus)
    for costs in tables.cpus.values():
        assert costs.sources and costs.assumptions
    assert tables.cpus["cortex-m4"].dual_issue_pairs is None
    assert tables.cpus["cortex-m7"].dual_issue_pairs


def test_runner_counts_exactly_and_models_taken_branches(tmp_path: Path) -> None:
    from tinytx.toolchain.bench.runner import CostedRunner

    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc not installed")
    src = tmp_path / "loop.s"
    src.write_text(
        ".syntax unified\n.thumb\n.global countdown\n.type countdown, %function\n"
        ".thumb_func\ncountdown:\n1:  subs r0, #1\n    bne 1b\n    bx lr\n"
    )
    elf = tmp_path / "loop.elf"
    subprocess.run(
        ["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mthumb", "-nostdlib",
         "-Wl,--entry=countdown", "-Wl,-Ttext=0x1000", "-o", elf, src],
        check=True,
    )  # fmt: skip
    n = 10
    # n x (subs, bne) + bx lr; M4: 2 per pass, P = 2 on the n - 1 taken branches, bx 1 + P
    m4 = CostedRunner(elf, CostModel("cortex-m4")).measure("countdown", [n])
    assert (m4.instructions, m4.modelled_cycles) == (2 * n + 1, 2 * n + 2 * (n - 1) + 3)
    # M7: bne depends on the flags of subs (no pairing), branches predicted (no refill)
    m7 = CostedRunner(elf, CostModel("cortex-m7")).measure("countdown", [n])
    assert (m7.instructions, m7.modelled_cycles) == (2 * n + 1, 2 * n + 1)


# ------------------------------------------------------------ scratch sizes
# (every *_get_buffer_size against the built kernels: test_kernel_abi.py)
@pytest.mark.parametrize(("rows", "k", "n", "floor"), [(16, 64, 32, 1.0), (81, 64, 32, 1.1)])
def test_linear_buf_speed_target(
    tiny_session: BenchSession, rows: int, k: int, n: int, floor: float
) -> None:
    """arm tinytx_linear_buf_s8 on an FFN layer (M4, exact instructions): at least
    `floor` MAC/instruction and 1.4x fewer instructions than the scratch-free
    tinytx_linear_s8, both bit-exact with the golden model."""
    from tinytx.core import golden as g
    from tinytx.core.golden.quant import Requant

    runner = tiny_session.runner
    runner.reset()
    rng = np.random.default_rng(rows * k + n)
    x = rng.integers(-128, 128, (rows, k), dtype=np.int8)
    w = rng.integers(-128, 128, (n, k), dtype=np.int8)
    b = rng.integers(-5000, 5000, n).astype(np.int32)
    rq = Requant.from_scale(1 / (40.0 * k))
    expected = g.linear_s8(x, w, b, rq)
    dims = runner.alloc(struct.pack("<5i", rows, k, n, 1, 0))
    par = runner.alloc(struct.pack("<5i2I", rq.multiplier, rq.shift, 0, -128, 127, 0, 0))
    ptrs = [runner.alloc(a.tobytes()) for a in (x, w, b)]
    need = runner.call("tinytx_linear_buf_s8_get_buffer_size", [dims, 1]).return_value
    assert need == 2 * k * (rows + rows % 2 + 2)
    counts = {}
    ctx = alloc_context(runner, runner.alloc(need), need)
    for func, extra in (("tinytx_linear_s8", []), ("tinytx_linear_buf_s8", [ctx])):
        out = runner.alloc(rows * n)
        call = runner.call(func, [dims, par, *ptrs, out, *extra])
        assert call.return_value == 0
        got = np.frombuffer(runner.read(out, rows * n), np.int8).reshape(rows, n)
        assert np.array_equal(got, expected), func
        counts[func] = call.instructions
    assert rows * k * n / counts["tinytx_linear_buf_s8"] >= floor, counts
    assert counts["tinytx_linear_s8"] >= 1.4 * counts["tinytx_linear_buf_s8"], counts
