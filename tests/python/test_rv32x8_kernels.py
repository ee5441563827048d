"""The riscv kernels split over cores, bit-exact with the golden model on 1, 2, 4 and 8 harts.

The random suite of every kernel (240 cases each) runs in test_kernels_bitexact.py on
host-riscv (serial port, cores in turn, ASan/UBSan), rv32-riscv (one hart, cores in turn)
and rv32x8-riscv (QEMU virt -smp 8, real harts); every case runs with 1, 2, 4 and 8
cores there (tests/kernels/src/tt_cores.h). This file checks that those runs really
used the four core counts, adds the benchmark shapes A-D for every kernel and both MHSA
blocks on the 8-hart machine, odd hart counts on a smaller machine, and the XpulpV2
inner loops through C models of the PULP builtins.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tinytx.core import golden as g
from tinytx.core.golden.linear import Layout
from tinytx.core.resources import baremetal_port_dir
from tinytx.core.targets import Target, get_target
from tinytx.core.vectors import Case, write_cases
from tinytx.core.workloads import SHAPES, MhsaShape, calibrate_fwsa, make_mhsa, random_bias
from tinytx.toolchain import kernel_tests as kt
from tinytx.toolchain.build import cmake_build
from tinytx.toolchain.emu.qemu import run_program

pytestmark = pytest.mark.firmware

CORES_LINE = "list=1,2,4,8"
SHAPE_SEED = 11


def _rq(rq: g.Requant) -> tuple[int, int]:
    return rq.multiplier, rq.shift


def shape_cases(name: str, shape: MhsaShape, seed: int, first_id: int) -> list[Case]:
    """Every kernel on the tensors of one benchmark shape, with golden expectations."""
    work = make_mhsa(shape, seed)
    s, e, h, p = shape.seq_len, shape.embed_dim, shape.heads, shape.head_dim
    x, w, qp = work.x, work.weights, work.quant
    tr = g.mhsa_trace(x, h, w, qp)
    rng = np.random.default_rng([seed, s, e, h, p])
    cases: list[Case] = []

    def add(kernel: str, params: tuple[int, ...], buffers: tuple, what: str) -> None:
        cases.append(Case(kernel, first_id + len(cases), params, buffers, f"{name}: {what}"))

    def linear(what: str, inp, wt, bias, rq, layout: Layout, heads: int, y) -> None:
        dims = (inp.shape[0], inp.shape[1], wt.shape[0], heads, int(layout))
        params = (*dims, *_rq(rq), -128, 127, rq.zero_point)
        add("linear", params, (inp, wt, bias, None, None, y), what)

    linear("Q", x, w.wq, w.bq, qp.q, Layout.HEAD_MAJOR, h, tr["q"])
    linear("K", x, w.wk, w.bk, qp.k, Layout.HEAD_MAJOR, h, tr["k"])
    linear("V^T", x, w.wv, w.bv, qp.v, Layout.HEAD_MAJOR_T, h, tr["vt"])
    linear("out", tr["o"], w.wo, w.bo, qp.out, Layout.TOKEN_MAJOR, 1, tr["y"])
    add("qk_softmax", (h, s, s, p, h, *_rq(qp.softmax)), (tr["q"], tr["k"], tr["a"]), "QK^T")
    add("av", (h, s, s, p, *_rq(qp.av)), (tr["a"], tr["vt"], tr["o"]), "A*V")
    rqs = [v for rq in (qp.q, qp.k, qp.v, qp.softmax, qp.av, qp.out) for v in _rq(rq)]
    rqs.append(qp.out.zero_point)
    block = (x, w.wq, w.bq, w.wk, w.bk, w.wv, w.bv, w.wo, w.bo, None, tr["y"])
    add("mhsa", (s, e, h, p, *rqs), block, "MHSA")
    for tile, in_place in ((min(8, s), 0), (s, 1), (max(1, s // 3), 0)):
        add("mhsa_dft", (s, e, h, p, tile, in_place, *rqs), block, f"DFT x={tile}")

    wt = rng.integers(-60, 61, (h * e, e)).astype(np.int8)
    wv = rng.integers(-60, 61, (h * p, e)).astype(np.int8)
    wo = rng.integers(-60, 61, (e, h * p)).astype(np.int8)
    fw = g.FwsaWeights(
        wt, random_bias(rng, x, wt), wv, random_bias(rng, x, wv), wo,
        random_bias(rng, tr["o"], wo),
    )  # fmt: skip
    fq = calibrate_fwsa(x, h, fw)
    frqs = [v for rq in (fq.t, fq.v, fq.softmax, fq.av, fq.out) for v in _rq(rq)]
    frqs.append(fq.out.zero_point)
    add(
        "fwsa", (s, e, h, p, *frqs),
        (x, fw.wt, fw.bt, fw.wv, fw.bv, fw.wo, fw.bo, g.fwsa_s8(x, h, fw, fq)), "FWSA",
    )  # fmt: skip

    gamma = rng.integers(-128, 128, e).astype(np.int8)
    beta = rng.integers(-4096, 4096, e).astype(np.int32)
    eps_q16, ln_rq = g.layernorm_params(0.05, 1.0 / 64, 1.0 / 32, 1e-5)
    ln = g.layernorm_s8(x, gamma, beta, eps_q16, ln_rq)
    ln_params = (s, e, *_rq(ln_rq), eps_q16, ln_rq.zero_point)
    add("layernorm", ln_params, (x, gamma, beta, ln), "LayerNorm")
    flat = x.reshape(-1)
    gp = g.gelu_params(0.05, 0.04)
    gelu_params = (flat.size, gp.q_clip, gp.q_one, *_rq(gp.rq), gp.rq.zero_point, 0)
    add("gelu", gelu_params, (flat, g.gelu_s8(flat, gp)), "GELU")
    table = g.build_unary_table(g.make_unary("Sigmoid").fn, 0.05, 0, 1.0 / 255, -128)
    add("lut", (flat.size,), (flat, table, g.lut_s8(flat, table)), "Sigmoid table")
    ap = g.add_params(0.05, 0.04, 0.08)
    b = tr["y"].reshape(-1)
    add(
        "add", (flat.size, ap.m_a, ap.m_b, ap.shift, ap.act_min, ap.act_max, ap.offset,
                ap.zero_point),
        (flat, b, g.add_s8(flat, b, ap)), "residual add",
    )  # fmt: skip
    return cases


@pytest.fixture(scope="session")
def shape_vectors(build_root: Path) -> tuple[Path, dict[str, int]]:
    cases: list[Case] = []
    for name, shape in SHAPES.items():
        cases += shape_cases(name, shape, SHAPE_SEED, len(cases))
    path = build_root / "vectors-shapes-abcd.bin"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_cases(path, cases)
    counts: dict[str, int] = {}
    for c in cases:
        counts[c.kernel] = counts.get(c.kernel, 0) + 1
    return path, counts


@pytest.fixture(scope="session")
def shapes_on_8_harts(shape_vectors, build_root: Path) -> kt.SuiteReport:
    return kt.run_suite("rv32x8", shape_vectors[0], build_root, kernels="riscv")


RISCV_KERNELS = (
    "linear",
    "qk_softmax",
    "av",
    "mhsa",
    "mhsa_dft",
    "fwsa",
    "layernorm",
    "gelu",
    "add",
    "lut",
)


@pytest.mark.parametrize("kernel", RISCV_KERNELS)
def test_shapes_abcd_bit_exact_on_1_2_4_8_harts(shapes_on_8_harts, shape_vectors, kernel) -> None:
    report = shapes_on_8_harts
    assert report.complete, report.output[-3000:]
    assert "CORES port=rv32_smp list=1,2,4,8 available=8" in report.output
    failures = [f for f in report.failures if f"kernel={kernel} " in f]
    assert report.summaries[kernel].failed == 0, "\n".join(failures[:10])
    assert report.summaries[kernel].passed == shape_vectors[1][kernel]


@pytest.mark.parametrize(
    ("target", "port"), [("host", "serial"), ("rv32", "serial"), ("rv32x8", "rv32_smp")]
)
def test_random_suite_ran_on_1_2_4_8_cores(suite_reports, target: str, port: str) -> None:
    """The riscv runs of test_kernels_bitexact.py checked every case on four core counts."""
    report = suite_reports(target, "riscv")
    assert report.complete and report.returncode == 0, report.output[-3000:]
    assert f"CORES port={port} {CORES_LINE}" in report.output
    for kernel in RISCV_KERNELS:
        assert report.summaries[kernel].passed == kt.DEFAULT_CASES


def _kernel_library(program: Path) -> Path:
    """The kernels' archive next to a runner (its objects, before --gc-sections)."""
    return program.parent / "kernels" / "libtinytx_kernels.a"


def _with_harts(n: int) -> Target:
    """The rv32x8 target on a QEMU virt machine with n harts instead of 8."""
    return get_target("rv32x8").with_cores(n)


def test_odd_hart_counts_on_a_3_hart_machine(shape_vectors, build_root: Path) -> None:
    """Harts are counted at start-up: -smp 3 offers 3, and 1, 2, 3 harts all match."""
    program = kt.build_runner("rv32x8", build_root, "riscv")
    small = _with_harts(3)
    cases = shape_cases("B", SHAPES["B"], SHAPE_SEED, 0)
    vectors = build_root / "vectors-shape-b.bin"
    write_cases(vectors, cases)
    result = run_program(small, program, ["--cores=1:2:3", str(vectors.resolve())], 300.0)
    report = kt.parse_runner_output("rv32x8", result.returncode, result.stdout + result.stderr)
    assert report.complete and result.returncode == 0, report.output[-3000:]
    assert "CORES port=rv32_smp list=1,2,3 available=3" in report.output
    assert report.total_failed == 0
    assert sum(s.passed for s in report.summaries.values()) >= len(cases)


def test_more_harts_than_the_machine_has_is_refused(build_root: Path) -> None:
    program = kt.build_runner("rv32x8", build_root, "riscv")
    small = _with_harts(2)
    result = run_program(small, program, ["--cores=1:4", "unused.bin"], 120.0)
    assert result.returncode == 2  # main's exit code, through the test device
    assert "ERROR bad --cores list" in result.stdout


def test_xpulpv2_inner_loops_with_c_models_of_the_builtins(kernel_vectors, build_root) -> None:
    """The XpulpV2 path (not compiled in CI: no PULP compiler) with C models of
    __builtin_pulp_sdotsp4/sdotusp4, on the host, over the whole random suite."""
    host = get_target("host")
    model = Target(
        name="host-xpulpv2-model",
        description="host gcc, riscv kernels with C models of the XpulpV2 builtins",
        kind="host",
        cflags=("-O1", "-g", "-DTINYTX_RISCV_XPULPV2_MODEL=1"),
        ldflags=(),
        kernels=host.kernels,
    )
    build_dir = build_root / "kernel-tests" / "host-xpulpv2-model"
    defines = {"TINYTX_WERROR": "ON", "TINYTX_KERNEL_VARIANT": "riscv"}
    cmake_build(kt.runner_source(), build_dir, model, defines)
    program = build_dir / kt.RUNNER_NAME
    assert b"tinytx-riscv-inner=xpulpv2-model" in _kernel_library(program).read_bytes()
    result = run_program(model, program, [str(kernel_vectors.resolve())], 600.0)
    report = kt.parse_runner_output(model.name, result.returncode, result.stdout)
    assert report.complete and result.returncode == 0, "\n".join(report.failures[:20])
    assert f"CORES port=serial {CORES_LINE}" in report.output
    for kernel in RISCV_KERNELS:
        assert report.summaries[kernel].passed == kt.DEFAULT_CASES


def test_plain_rv32imc_path_is_what_ci_compiles(build_root: Path) -> None:
    program = kt.build_runner("rv32x8", build_root, "riscv")
    assert b"tinytx-riscv-inner=rv32imc" in _kernel_library(program).read_bytes()


TRAP_PROGRAM = """
#include <stdint.h>
#include <stdio.h>
#include "tinytx/parallel.h"
static void body(void *ctx, uint32_t core, uint32_t n)
{
	(void)ctx;
	(void)n;
	if (core == 3) {
		*(volatile uint32_t *)0x4 = 1; /* no memory there: store access fault */
	}
}
int main(void)
{
	printf("cores %lu\\n", (unsigned long)tinytx_parallel_num_cores());
	tinytx_parallel_for(body, 0);
	printf("not reached\\n");
	return 0;
}
"""


def test_a_trap_on_a_secondary_hart_is_reported_and_exits_3(tmp_path: Path, build_root) -> None:
    """An application built with the bare-metal port for rv32x8: hart 3 faults."""
    source = tmp_path / "trap.c"
    source.write_text(TRAP_PROGRAM)
    target = get_target("rv32x8")
    build_dir = build_root / "rv32x8-trap"
    cmake_build(
        baremetal_port_dir(),
        build_dir,
        target,
        {
            "TINYTX_APP_NAME": "trap",
            "TINYTX_APP_SOURCES": str(source),
            "TINYTX_KERNEL_VARIANT": "riscv",
        },
    )
    result = run_program(target, build_dir / "trap", [], 60.0)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "cores 8" in result.stdout
    assert "tinytx rv32_smp: trap on hart 3 mcause=0x00000007" in result.stdout
    assert "mtval=0x00000004" in result.stdout and "not reached" not in result.stdout
