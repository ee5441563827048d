"""The element-wise kernels around an MHSA block: residual add, LayerNorm, GELU.

They are benchmarked on the block's own tensors ([S][E]): ``add`` sums the block's input
and output (the residual connection), ``layernorm`` normalizes that sum, ``gelu`` runs on
the normalized rows, and ``lut`` computes the same GELU as one 256-entry table
(``tinytx_lut_s8``: the cost of any table-driven unary activation). Their data and
parameters are deterministic in the seed; the golden model gives every expected output,
checked like the block's kernels (`cases.run_case`).
They have no MACs: `elements` is what they are measured by.
"""

from __future__ import annotations

import struct

import numpy as np

from tinytx.core import golden as g
from tinytx.core.workloads import MhsaWorkload
from tinytx.toolchain.bench.cases import GUARD_BYTES, KernelCase
from tinytx.toolchain.bench.runner import CostedRunner

ELEMENTWISE: tuple[str, ...] = ("add", "layernorm", "gelu", "lut")

ELEMENTWISE_DESCRIPTIONS = {
    "add": "residual add x + MHSA(x), tinytx_add_s8 over S*E",
    "layernorm": "LayerNorm of the sum, tinytx_layernorm_s8 over S rows of E",
    "gelu": "GELU of the normalized rows, tinytx_gelu_s8 over S*E",
    "lut": "the same GELU as a 256-entry table, tinytx_lut_s8 over S*E",
}


def _alloc(runner: CostedRunner, a: np.ndarray) -> int:
    return runner.alloc(np.ascontiguousarray(a).tobytes(), align=8)


def elementwise_data(work: MhsaWorkload, y: np.ndarray, seed: int) -> dict[str, tuple]:
    """Inputs, parameters and golden outputs of the three kernels."""
    rng = np.random.default_rng(seed + 1)
    x = work.x
    ap = g.add_params(0.05, 0.04, 0.06)
    summed = g.add_s8(x, y, ap)
    e = x.shape[1]
    gamma = np.clip(np.rint(rng.normal(64.0, 20.0, e)), -128, 127).astype(np.int8)
    beta = rng.integers(-(1 << 12), 1 << 12, e).astype(np.int32)
    eps_q16, ln_rq = g.layernorm_params(0.06, 1.0 / 64, 1.0 / 32, 1e-5)
    normed = g.layernorm_s8(summed, gamma, beta, eps_q16, ln_rq)
    gp = g.gelu_params(1.0 / 32, 1.0 / 40)
    table = g.build_unary_table(g.make_unary("GeluErf").fn, 1.0 / 32, 0, 1.0 / 40, 0)
    return {
        "add": (x, y, ap, summed),
        "layernorm": (summed, gamma, beta, eps_q16, ln_rq, normed),
        "gelu": (normed, gp, g.gelu_s8(normed, gp)),
        "lut": (normed, table, g.lut_s8(normed, table)),
    }


def prepare_elementwise(
    runner: CostedRunner, work: MhsaWorkload, y: np.ndarray, seed: int
) -> list[KernelCase]:
    """Write the data into `runner` and return one case per kernel of `ELEMENTWISE`."""
    data = elementwise_data(work, y, seed)
    s, e = work.x.shape
    n = s * e
    cases: list[KernelCase] = []

    a, b, ap, summed = data["add"]
    params = runner.alloc(
        struct.pack(
            "<7i", ap.m_a, ap.m_b, ap.shift, ap.act_min, ap.act_max, ap.offset, ap.zero_point
        )
    )
    out = runner.alloc(n + GUARD_BYTES, align=8)
    cases.append(
        KernelCase("add", "tinytx_add_s8", 0,
                   (n, params, _alloc(runner, a), _alloc(runner, b), out),
                   out, summed.tobytes(), elements=n)
    )  # fmt: skip

    x, gamma, beta, eps_q16, rq, normed = data["layernorm"]
    dims = runner.alloc(struct.pack("<2i", s, e))
    params = runner.alloc(struct.pack("<4i", rq.multiplier, rq.shift, rq.zero_point, eps_q16))
    out = runner.alloc(n + GUARD_BYTES, align=8)
    cases.append(
        KernelCase("layernorm", "tinytx_layernorm_s8", 0,
                   (dims, params, _alloc(runner, x), _alloc(runner, gamma),
                    _alloc(runner, beta.astype("<i4")), out),
                   out, normed.tobytes(), elements=n)
    )  # fmt: skip

    x, gp, expected = data["gelu"]
    rq = gp.rq
    params = runner.alloc(
        struct.pack(
            "<6i", gp.q_clip, gp.q_one, rq.multiplier, rq.shift, rq.zero_point, gp.input_zero_point
        )
    )
    out = runner.alloc(n + GUARD_BYTES, align=8)
    cases.append(
        KernelCase("gelu", "tinytx_gelu_s8", 0, (n, params, _alloc(runner, x), out),
                   out, expected.tobytes(), elements=n)
    )  # fmt: skip

    x, table, expected = data["lut"]
    out = runner.alloc(n + GUARD_BYTES, align=8)
    cases.append(
        KernelCase("lut", "tinytx_lut_s8", 0, (n, _alloc(runner, table), _alloc(runner, x), out),
                   out, expected.tobytes(), elements=n)
    )  # fmt: skip
    assert tuple(c.kernel for c in cases) == ELEMENTWISE
    return cases
