"""The kernel calls of one MHSA block, with calibrated data and golden outputs.

For a shape, `golden_trace` computes every intermediate tensor of the layer-wise MHSA
with the golden model (``tinytx.core.golden.mhsa_trace``). `prepare_cases` writes the
inputs into the runner's scratch heap and returns one `KernelCase` per kernel call:
the three projections, QK^T with the integer softmax (all heads, all query rows), A*V,
the output projection, and the whole ``tinytx_mhsa_s8`` block. Every call reads golden
inputs, so each kernel is measured and checked on exactly the data it sees inside the
block, independently of the others.

`run_case` poisons the output (every byte set to the complement of the expected one, so
a byte the kernel does not write cannot pass), fills the scratch with a pattern, calls
the kernel, and checks the return value, every output byte and 16 guard bytes after
the output. Any difference raises `BenchMismatch`: a benchmark of a wrong kernel fails.

The whole block is also split by stage (`STAGE_FUNCTIONS`): the ``arm`` block runs its
own fused schedule (stage functions of kernels/src/arm/tinytx_mhsa_s8.c), the reference
block calls the public kernels; `stage_work` gives each stage's MACs (or elements).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tinytx.core import golden as g
from tinytx.core.errors import TinytxError
from tinytx.core.golden.linear import Layout
from tinytx.core.workloads import MhsaShape, MhsaWorkload, make_mhsa
from tinytx.toolchain.bench.runner import CostedRunner, Measurement

#: The measured kernel calls, in the order of the block (the names used everywhere).
KERNELS: tuple[str, ...] = (
    "q_proj",
    "k_proj",
    "v_proj",
    "qk_softmax",
    "av",
    "out_proj",
    "mhsa",
)
#: The whole block; its instruction count is what ``--total`` prints.
WHOLE_BLOCK = "mhsa"

KERNEL_DESCRIPTIONS = {
    "q_proj": "Q projection, tinytx_linear_s8 -> [H][S][P]",
    "k_proj": "K projection, tinytx_linear_s8 -> [H][S][P]",
    "v_proj": "V projection, tinytx_linear_s8 -> [H][P][S]",
    "qk_softmax": "QK^T + integer softmax, all heads and rows",
    "av": "A*V, tinytx_av_s8 -> [S][H*P]",
    "out_proj": "output projection, tinytx_linear_s8 -> [S][E]",
    "mhsa": "whole layer-wise MHSA block, tinytx_mhsa_s8",
}

#: Functions of the whole block that are stages of it, and their labels: the arm block's
#: own stages (kernels/src/arm/tinytx_mhsa_s8.c, and tinytx_mhsa_dft_s8.c's for the arm
#: depth-first blocks) and the reference block's kernel calls.
#: Every executed instruction goes to the innermost stage running (runner.OTHER_STAGE if
#: none: argument checks, scratch set-up, widening the input).
STAGE_FUNCTIONS: dict[str, str] = {
    "head_projections": "qkv_proj",
    "scores_pair": "qk",
    "softmax_row": "softmax",
    "av_pair": "av",
    "attention_p2": "softmax",
    "scores_max_p2": "qk",
    "prob_av_p2": "av",
    "widen_wo": "out_proj",
    "out_pair": "out_proj",
    "yacc_to_output": "out_proj",
    "dft_project": "qkv_proj",
    "dft_scores_pair": "qk",
    "dft_softmax_row": "softmax",
    "dft_av_pair": "av",
    "dft_out_pair": "out_proj",
    "dft_store_o8": "out_proj",
    "dft_yacc_to_output": "out_proj",
    "tinytx_linear_s8": "linear",
    "tinytx_qk_softmax_s8": "qk_softmax",
    "tinytx_av_s8": "av",
}

STAGE_DESCRIPTIONS = {
    "qkv_proj": "Q, K, V projections (weights widened per head)",
    "qk": "QK^T scores and row maxima",
    "softmax": "integer softmax (per score element)",
    "av": "A*V (head dimension <= 2: with the probabilities, computed on the way)",
    "out_proj": "output projection (head by head) and its requantization",
    "linear": "the four tinytx_linear_s8 calls (Q, K, V, output)",
    "qk_softmax": "tinytx_qk_softmax_s8",
    "other": "outside the stages: checks, scratch set-up, input widening",
}

GUARD_BYTES = 16
_GUARD = bytes(range(0xC0, 0xC0 + GUARD_BYTES))
_SCRATCH_FILL = 0xA5
_MAX_INSTRUCTIONS = 4_000_000_000


class BenchMismatch(TinytxError):
    """A kernel returned an error, wrote a wrong byte or wrote past its output."""


@dataclass(frozen=True)
class KernelCase:
    """One prepared kernel call (addresses are in the runner's scratch heap)."""

    kernel: str
    function: str
    macs: int
    args: tuple[int, ...]
    output: int
    expected: bytes
    scratch: tuple[tuple[int, int], ...] = ()  # (address, size) filled before the call
    elements: int = 0  # element-wise kernels: elements processed (they have no MACs)


def linear_macs(rows: int, in_features: int, out_features: int) -> int:
    return rows * in_features * out_features


def kernel_macs(shape: MhsaShape) -> dict[str, int]:
    """MACs of each measured call (the kernels add up to ``shape.macs``)."""
    s, e, h, p = shape.seq_len, shape.embed_dim, shape.heads, shape.head_dim
    proj = linear_macs(s, e, h * p)
    attn = h * s * s * p
    return {
        "q_proj": proj,
        "k_proj": proj,
        "v_proj": proj,
        "qk_softmax": attn,
        "av": attn,
        "out_proj": linear_macs(s, h * p, e),
        "mhsa": shape.macs,
    }


def stage_work(shape: MhsaShape, stage: str) -> tuple[int, int]:
    """(MACs, softmax elements) of a stage of the whole block (0 where it has none)."""
    s, e, h, p = shape.seq_len, shape.embed_dim, shape.heads, shape.head_dim
    proj, attn = s * e * h * p, h * s * s * p
    macs = {
        "qkv_proj": 3 * proj,
        "qk": attn,
        "av": attn,
        "out_proj": proj,
        "linear": 4 * proj,
        "qk_softmax": attn,
    }.get(stage, 0)
    elements = h * s * s if stage in ("softmax", "qk_softmax") else 0
    return macs, elements


def make_workload(shape: MhsaShape, seed: int) -> MhsaWorkload:
    """The calibrated random block the benchmark runs (`tinytx.core.workloads.make_mhsa`)."""
    return make_mhsa(shape, seed)


def golden_trace(work: MhsaWorkload) -> dict[str, np.ndarray]:
    """Every intermediate tensor of the block from the golden model (the expectations)."""
    return g.mhsa_trace(work.x, work.shape.heads, work.weights, work.quant)


def _i32(*values: int) -> bytes:
    return struct.pack(f"<{len(values)}i", *values)


def _requant_words(rq: g.Requant) -> tuple[int, int, int]:
    """A tinytx_requant: multiplier, shift, zero_point."""
    return rq.multiplier, rq.shift, rq.zero_point


def _requant_arg(runner: CostedRunner, rq: g.Requant) -> tuple[int, ...]:
    """A tinytx_requant argument passed by value: three words in registers/stack on Arm
    (AAPCS), the address of a copy on RV32 (ilp32 passes aggregates over 8 bytes by
    reference)."""
    if isinstance(runner, CostedRunner):
        return _requant_words(rq)
    return (runner.alloc(_i32(*_requant_words(rq))),)


def _alloc_array(runner: CostedRunner, a: np.ndarray) -> int:
    return runner.alloc(np.ascontiguousarray(a).tobytes(), align=8)


def _alloc_output(runner: CostedRunner, size: int) -> int:
    return runner.alloc(size + GUARD_BYTES, align=8)


def runner_cores(runner: object) -> int:
    """The cores the runner's kernels run on: the num_cores of a ``*_get_buffer_size``
    (the riscv runner emulates several, the Cortex-M one runs one)."""
    return int(getattr(runner, "cores", 1))


def alloc_context(runner: CostedRunner, buf: int, size: int) -> int:
    """A ``tinytx_context`` {buf, size} in the emulator's memory (32-bit targets): the
    scratch argument of the kernels that take one."""
    return runner.alloc(struct.pack("<Ii", buf, size), align=8)


def _buffer_size(runner: CostedRunner, function: str, dims: int) -> int:
    need = runner.call(function, [dims, runner_cores(runner)]).return_value
    if need < 0:
        raise TinytxError(f"{function} rejects the shape (status {need})")
    return need


def prepare_cases(
    runner: CostedRunner, work: MhsaWorkload, trace: dict[str, np.ndarray]
) -> list[KernelCase]:
    """Write the block's data into `runner` and return the calls of `KERNELS`."""
    shape, w, qp = work.shape, work.weights, work.quant
    s, e, h, p = shape.seq_len, shape.embed_dim, shape.heads, shape.head_dim
    hp = h * p
    macs = kernel_macs(shape)
    full = (-128, 127)

    x = _alloc_array(runner, work.x)
    wq, bq = _alloc_array(runner, w.wq), _alloc_array(runner, w.bq.astype("<i4"))
    wk, bk = _alloc_array(runner, w.wk), _alloc_array(runner, w.bk.astype("<i4"))
    wv, bv = _alloc_array(runner, w.wv), _alloc_array(runner, w.bv.astype("<i4"))
    wo, bo = _alloc_array(runner, w.wo), _alloc_array(runner, w.bo.astype("<i4"))
    q_in, k_in = _alloc_array(runner, trace["q"]), _alloc_array(runner, trace["k"])
    vt_in, a_in = _alloc_array(runner, trace["vt"]), _alloc_array(runner, trace["a"])
    o_in = _alloc_array(runner, trace["o"])

    cases: list[KernelCase] = []

    def linear(kernel: str, dims: tuple[int, ...], rq: g.Requant, inp: int, wt: int,
               bias: int, expected: np.ndarray) -> None:  # fmt: skip
        dims_addr = runner.alloc(_i32(*dims))
        params = runner.alloc(_i32(*_requant_words(rq), *full, 0, 0))  # per-tensor
        out = _alloc_output(runner, expected.size)
        cases.append(
            KernelCase(kernel, "tinytx_linear_s8", macs[kernel],
                       (dims_addr, params, inp, wt, bias, out), out, expected.tobytes())
        )  # fmt: skip

    linear("q_proj", (s, e, hp, h, Layout.HEAD_MAJOR), qp.q, x, wq, bq, trace["q"])
    linear("k_proj", (s, e, hp, h, Layout.HEAD_MAJOR), qp.k, x, wk, bk, trace["k"])
    linear("v_proj", (s, e, hp, h, Layout.HEAD_MAJOR_T), qp.v, x, wv, bv, trace["vt"])

    attn_dims = runner.alloc(_i32(h, s, s, p, h))
    sm_scratch_size = _buffer_size(runner, "tinytx_qk_softmax_s8_get_buffer_size", attn_dims)
    sm_scratch = runner.alloc(max(sm_scratch_size, 4), align=8)
    probs = _alloc_output(runner, trace["a"].size)
    cases.append(
        KernelCase("qk_softmax", "tinytx_qk_softmax_s8", macs["qk_softmax"],
                   (attn_dims, *_requant_arg(runner, qp.softmax), q_in, k_in, probs,
                    alloc_context(runner, sm_scratch, sm_scratch_size)),
                   probs, trace["a"].tobytes(), ((sm_scratch, sm_scratch_size),))
    )  # fmt: skip
    o_out = _alloc_output(runner, trace["o"].size)
    cases.append(
        KernelCase("av", "tinytx_av_s8", macs["av"],
                   (attn_dims, *_requant_arg(runner, qp.av), a_in, vt_in, o_out),
                   o_out, trace["o"].tobytes())
    )  # fmt: skip
    linear("out_proj", (s, hp, e, 1, Layout.TOKEN_MAJOR), qp.out, o_in, wo, bo, trace["y"])

    mhsa_dims = runner.alloc(_i32(s, e, h, p))
    rq_words = [v for f in ("q", "k", "v", "softmax", "av", "out")
                for v in _requant_words(getattr(qp, f))]  # fmt: skip
    mhsa_params = runner.alloc(_i32(*rq_words))
    # tinytx_mhsa_weights: 8 pointers, then 4 per-channel table pairs (NULL: per-tensor)
    weights = runner.alloc(struct.pack("<16I", wq, bq, wk, bk, wv, bv, wo, bo, *[0] * 8))
    mhsa_scratch_size = _buffer_size(runner, "tinytx_mhsa_s8_get_buffer_size", mhsa_dims)
    mhsa_scratch = runner.alloc(max(mhsa_scratch_size, 4), align=8)
    y = _alloc_output(runner, trace["y"].size)
    cases.append(
        KernelCase("mhsa", "tinytx_mhsa_s8", macs["mhsa"],
                   (mhsa_dims, mhsa_params, weights, x, y,
                    alloc_context(runner, mhsa_scratch, mhsa_scratch_size)), y,
                   trace["y"].tobytes(), ((mhsa_scratch, mhsa_scratch_size),))
    )  # fmt: skip
    assert tuple(c.kernel for c in cases) == KERNELS
    return cases


def dft_case(runner: CostedRunner, mhsa: KernelCase, tile: int) -> KernelCase:
    """``tinytx_mhsa_dft_s8`` with ``tile`` query rows per tile, on the data, parameters
    and expected output of the layer-wise block's case (``mhsa_dft x=<tile>``)."""
    dims, params, weights, x, _y, _scratch = mhsa.args
    need = runner.call(
        "tinytx_mhsa_dft_s8_get_buffer_size", [dims, tile, runner_cores(runner)]
    ).return_value
    if need < 0:
        raise TinytxError(f"tinytx_mhsa_dft_s8 rejects tile_rows={tile} (status {need})")
    scratch = runner.alloc(max(need, 4), align=8)
    y = _alloc_output(runner, len(mhsa.expected))
    return KernelCase(
        f"mhsa_dft x={tile}", "tinytx_mhsa_dft_s8", mhsa.macs,
        (dims, tile, params, weights, x, y, alloc_context(runner, scratch, need)), y,
        mhsa.expected, ((scratch, need),),
    )  # fmt: skip


def heap_bytes(shape: MhsaShape) -> int:
    """Generous size of the scratch heap `prepare_cases` needs for `shape`."""
    s, e, h, p = shape.seq_len, shape.embed_dim, shape.heads, shape.head_dim
    hp = h * p
    tensors = s * e + 4 * hp * e + 4 * (3 * hp + e)  # input, weights, biases
    traces = 2 * (4 * s * hp + h * s * s + s * e)  # golden inputs and outputs
    layer_wise = 4 * s + 4 * s * hp + h * s * s  # tinytx_mhsa_s8's reference scratch
    return tensors + traces + 4 * layer_wise + (1 << 20)


def stage_entries(runner: CostedRunner) -> dict[int, str]:
    """Entry address -> stage label of every function of `STAGE_FUNCTIONS` in the ELF."""
    entries: dict[int, str] = {}
    for function, label in STAGE_FUNCTIONS.items():
        try:
            entries[runner.symbol(function)] = label
        except ValueError:
            continue  # not in this variant
    return entries


def run_case(
    runner: CostedRunner, case: KernelCase, where: str, stages: bool = False
) -> Measurement:
    """Call one kernel on fresh buffers, check it against the golden model, measure it
    (with `stages`, also split by `STAGE_FUNCTIONS`)."""
    expected = case.expected
    poison = (np.frombuffer(expected, np.uint8) ^ 0xFF).tobytes()  # no byte passes unwritten
    runner.write(case.output, poison + _GUARD)
    for addr, size in case.scratch:
        runner.write(addr, bytes([_SCRATCH_FILL]) * size)
    entries = stage_entries(runner) if stages else None
    m = runner.measure(case.function, case.args, _MAX_INSTRUCTIONS, entries)
    label = f"{where} kernel {case.kernel} ({case.function})"
    if m.return_value != 0:
        raise BenchMismatch(f"{label} returned status {m.return_value}, not TINYTX_OK")
    got = runner.read(case.output, len(expected) + GUARD_BYTES)
    if got[len(expected) :] != _GUARD:
        raise BenchMismatch(f"{label} wrote past the end of its {len(expected)}-byte output")
    if got[: len(expected)] != expected:
        diff = np.flatnonzero(
            np.frombuffer(got[: len(expected)], np.uint8) != np.frombuffer(expected, np.uint8)
        )
        i = int(diff[0])
        raise BenchMismatch(
            f"{label}: output differs from the golden model in {diff.size} of "
            f"{len(expected)} bytes (first at byte {i}: got {got[i]}, golden {expected[i]})"
        )
    return m


def run_cases(
    runner: CostedRunner, cases: Sequence[KernelCase], where: str
) -> dict[str, Measurement]:
    """Every case; the whole block split by stage."""
    return {
        case.kernel: run_case(runner, case, where, stages=case.kernel == WHOLE_BLOCK)
        for case in cases
    }
