"""Dense vs sparse weights on the pruned layers of the sample models (``tinytx bench --sparse``).

Each layer of `SPARSE_LAYERS` (the radar and EEG models' linear and convolution shapes)
runs once with its dense int8 weights (``tinytx_linear_s8`` / ``tinytx_conv2d_s8``) and
once per pruning `PATTERNS` entry with the same weights magnitude-pruned and stored as
``tinytx_sparse_weights`` (``tinytx_linear_sparse_s8`` / ``tinytx_conv2d_sparse_s8``),
under unicorn on the bench ELF, every output checked byte for byte against the golden
model on the pruned matrix (`cases.run_case`). Reported: exact instructions, the
dense / sparse ratio and the weight bytes (dense ``rows * cols``, sparse
``sparse_weights.encode(...).nbytes``).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinytx.core import golden as g
from tinytx.core.errors import TinytxError
from tinytx.core.golden.conv import conv2d_acc
from tinytx.core.golden.linear import Layout
from tinytx.core.plan.sparse_costs import LayerShape
from tinytx.core.sparse_weights import SparseFormat, SparseWeights, encode
from tinytx.core.workloads import calibrated
from tinytx.toolchain.bench.cases import (
    GUARD_BYTES,
    KernelCase,
    alloc_context,
    run_case,
    runner_cores,
)
from tinytx.toolchain.bench.runner import CostedRunner


@dataclass(frozen=True)
class SparseLayer:
    """A linear layer (S tokens, K -> N) or a convolution (H x W x C_in -> C_out, kernel
    KH x KW, stride, pads top/left/bottom/right) of a sample model."""

    name: str
    kind: str  # "linear" or "conv"
    linear: tuple[int, int, int] = (0, 0, 0)  # S, K, N
    conv: tuple[int, ...] = ()  # H, W, C_in, C_out, KH, KW, SH, SW, PT, PL, PB, PR

    @property
    def rows_cols(self) -> tuple[int, int]:
        """The weight matrix: [N][K], or [C_out][KH * KW * C_in]."""
        if self.kind == "linear":
            return self.linear[2], self.linear[1]
        _h, _w, cin, cout, kh, kw = self.conv[:6]
        return cout, kh * kw * cin

    @property
    def out_pixels(self) -> tuple[int, int]:
        h, w, _, _, kh, kw, sh, sw, pt, pl, pb, pr = self.conv
        return (h + pt + pb - kh) // sh + 1, (w + pl + pr - kw) // sw + 1

    def describe(self) -> str:
        if self.kind == "linear":
            s, k, n = self.linear
            return f"{s}x{k}->{n}"
        h, w, cin, cout, kh, kw, sh, sw = self.conv[:8]
        stride = f" s{sh}x{sw}" if (sh, sw) != (1, 1) else ""
        return f"{kh}x{kw} {cin}->{cout} on {h}x{w}{stride}"


SPARSE_LAYERS: tuple[SparseLayer, ...] = (
    SparseLayer("radar.embed", "linear", (16, 256, 32)),
    SparseLayer("radar.ffn1", "linear", (16, 32, 64)),
    SparseLayer("radar.ffn2", "linear", (16, 64, 32)),
    SparseLayer("radar.attn_proj", "linear", (16, 32, 32)),
    SparseLayer("radar.conv2", "conv", conv=(8, 8, 8, 16, 3, 3, 1, 1, 1, 1, 1, 1)),
    SparseLayer("radar.conv1", "conv", conv=(16, 16, 2, 8, 3, 3, 1, 1, 1, 1, 1, 1)),
    SparseLayer("eeg.qkv_proj", "linear", (81, 32, 256)),
    SparseLayer("eeg.out_proj", "linear", (81, 256, 32)),
    SparseLayer("eeg.ffn1", "linear", (81, 32, 64)),
    SparseLayer("eeg.ffn2", "linear", (81, 64, 32)),
    SparseLayer("eeg.conv1", "conv", conv=(1, 648, 4, 16, 1, 9, 1, 2, 0, 4, 0, 4)),
    SparseLayer("eeg.conv2", "conv", conv=(1, 81, 16, 32, 1, 3, 1, 1, 0, 1, 0, 1)),
)


@dataclass(frozen=True)
class Pattern:
    name: str
    format: SparseFormat
    sparsity: float  # share of zero entries (values or 1x4 blocks) in every row


PATTERNS: tuple[Pattern, ...] = (
    Pattern("block4_75", SparseFormat.BLOCK4, 0.75),
    Pattern("unstructured_90", SparseFormat.UNSTRUCTURED, 0.90),
    Pattern("unstructured_50", SparseFormat.UNSTRUCTURED, 0.50),
)

#: The goal: the dense / sparse instruction ratio each layer should reach per pattern.
#: ``--update-budget`` records per layer the goal, or below it the measured ratio less 2 %
#: (a floor that only catches regressions; ``goal_misses`` lists those layers), and
#: ``--check-budget`` fails below the recorded floor.
MIN_RATIOS: dict[str, float] = {"block4_75": 2.5, "unstructured_90": 2.0}
RATIO_KEY = "min_ratio_"  # the floors' keys in the budget file: min_ratio_<pattern>


def prune(w: np.ndarray, fmt: SparseFormat, sparsity: float) -> np.ndarray:
    """``w`` with round(sparsity * positions) entries of each row zeroed: the entries
    (values, or 1 x 4 blocks along the row) of smallest magnitude, ties by position."""
    rows, cols = w.shape
    per = int(fmt)
    positions = -(-cols // per)
    padded = np.zeros((rows, positions * per), np.int32)
    padded[:, :cols] = w
    mag = np.abs(padded).reshape(rows, positions, per).sum(axis=2)
    drop = round(sparsity * positions)
    out = padded.reshape(rows, positions, per).copy()
    for r in range(rows):
        order = np.argsort(mag[r], kind="stable")
        out[r, order[:drop]] = 0
    return out.reshape(rows, positions * per)[:, :cols].astype(np.int8)


@dataclass(frozen=True)
class SparseResult:
    """One layer: dense instructions and weight bytes, and per pattern its own."""

    layer: SparseLayer
    dense_instructions: int
    dense_bytes: int
    sparse: dict[str, tuple[int, int, int]]  # pattern -> (instructions, nbytes, entries)

    def ratio(self, pattern: str) -> float:
        return self.dense_instructions / self.sparse[pattern][0]


def _i32(*values: int) -> bytes:
    return struct.pack(f"<{len(values)}i", *values)


def _alloc(runner: CostedRunner, a: np.ndarray) -> int:
    return runner.alloc(np.ascontiguousarray(a).tobytes(), align=8)


def _weights_struct(runner: CostedRunner, sw: SparseWeights) -> int:
    def arr(a: np.ndarray) -> int:
        return _alloc(runner, a) if a.size else 0

    return runner.alloc(
        struct.pack(
            "<3i3I", int(sw.format), sw.rows, sw.cols,
            arr(sw.row_ptr.astype("<u2")), arr(sw.gaps), arr(sw.values),
        ),
        align=8,
    )  # fmt: skip


def _scratch(runner: CostedRunner, function: str, dims: int) -> tuple[int, int]:
    need = runner.call(function, [dims, runner_cores(runner)]).return_value
    if need < 0:
        raise TinytxError(f"{function} rejects the shape (status {need})")
    return runner.alloc(max(need, 4), align=8), need


def layer_data(layer: SparseLayer, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Input, dense weights ([rows][cols]) and bias of a layer, deterministic in the seed."""
    rng = np.random.default_rng([seed, *map(ord, layer.name)])
    rows, cols = layer.rows_cols
    if layer.kind == "linear":
        x = rng.integers(-128, 128, layer.linear[:2]).astype(np.int8)
    else:
        x = rng.integers(-128, 128, layer.conv[:3]).astype(np.int8)
    w = np.clip(np.rint(rng.normal(0, 40, (rows, cols))), -127, 127).astype(np.int8)
    bias = rng.integers(-2000, 2000, rows).astype(np.int32)
    return x, w, bias


def _golden(
    layer: SparseLayer, x: np.ndarray, w: np.ndarray, bias: np.ndarray
) -> tuple[g.Requant, np.ndarray]:
    """The factor (calibrated on the layer's accumulators) and the golden output."""
    if layer.kind == "linear":
        acc = x.astype(np.int64) @ w.astype(np.int64).T + bias
        rq = calibrated(acc)
        return rq, g.linear_s8(x, w, bias, rq, Layout.TOKEN_MAJOR, 1)
    _h, _wd, cin, cout, kh, kw, sh, sw, pt, pl, pb, pr = layer.conv
    w4 = w.reshape(cout, kh, kw, cin)
    rq = calibrated(conv2d_acc(x, w4, bias, (sh, sw), (pt, pl, pb, pr)))
    return rq, g.conv2d_s8(x, w4, bias, rq, (sh, sw), (pt, pl, pb, pr))


def _case(
    runner: CostedRunner, layer: SparseLayer, x: np.ndarray, w: np.ndarray, bias: np.ndarray,
    sw: SparseWeights | None,
) -> KernelCase:  # fmt: skip
    """The call of the dense kernel (``sw`` None) or the sparse one on ``w``'s entries."""
    rq, expected = _golden(layer, x, w, bias)
    out = runner.alloc(expected.size + GUARD_BYTES, align=8)
    x_addr, b_addr = _alloc(runner, x), _alloc(runner, bias.astype("<i4"))
    if layer.kind == "linear":
        s, k, n = layer.linear
        dims = runner.alloc(_i32(s, k, n, 1, int(Layout.TOKEN_MAJOR)))
        params = runner.alloc(_i32(rq.multiplier, rq.shift, rq.zero_point, -128, 127, 0, 0))
        kernel = "tinytx_linear_s8" if sw is None else "tinytx_linear_sparse_s8"
        scratch: tuple[tuple[int, int], ...] = ()
        if sw is None:
            args: tuple[int, ...] = (dims, params, x_addr, _alloc(runner, w), b_addr, out)
        else:
            buf, need = _scratch(runner, "tinytx_linear_sparse_s8_get_buffer_size", dims)
            ctx = alloc_context(runner, buf, need)
            args = (dims, params, x_addr, _weights_struct(runner, sw), b_addr, out, ctx)
            scratch = ((buf, need),)
        macs = s * k * n
    else:
        h, wd, cin, cout, kh, kw, sh, swd, pt, pl, pb, pr = layer.conv
        oh, ow = layer.out_pixels
        no_dilation = (0, 0, 0)  # dilation_h, dilation_w, depth_multiplier: 0 means 1
        dims = runner.alloc(
            _i32(h, wd, cin, oh, ow, cout, kh, kw, sh, swd, pt, pl, pb, pr, *no_dilation)
        )
        params = runner.alloc(_i32(rq.multiplier, rq.shift, rq.zero_point, -128, 127, 0, 0, 0))
        name = "tinytx_conv2d_s8" if sw is None else "tinytx_conv2d_sparse_s8"
        buf, need = _scratch(runner, name + "_get_buffer_size", dims)
        ctx = alloc_context(runner, buf, need)
        wt = _alloc(runner, w) if sw is None else _weights_struct(runner, sw)
        args = (dims, params, x_addr, wt, b_addr, out, ctx)
        kernel, scratch = name, ((buf, need),)
        macs = oh * ow * cout * kh * kw * cin
    return KernelCase(layer.name, kernel, macs, args, out, expected.tobytes(), scratch)


def measure_layer(
    runner: CostedRunner, layer: SparseLayer, seed: int, where: str,
    patterns: tuple[Pattern, ...] = PATTERNS,
) -> SparseResult:  # fmt: skip
    """Dense and every pattern of one layer, each checked against the golden model."""
    x, w, bias = layer_data(layer, seed)
    runner.reset()
    dense = run_case(runner, _case(runner, layer, x, w, bias, None), where)
    sparse: dict[str, tuple[int, int, int]] = {}
    for p in patterns:
        pruned = prune(w, p.format, p.sparsity)
        sw = encode(pruned, p.format)
        runner.reset()
        m = run_case(runner, _case(runner, layer, x, pruned, bias, sw), f"{where} {p.name}")
        sparse[p.name] = (m.instructions, sw.nbytes, sw.entries)
    return SparseResult(layer, dense.instructions, w.size, sparse)


@dataclass(frozen=True)
class SparseReport:
    target: str
    variant: str
    compiler: str
    seed: int
    results: tuple[SparseResult, ...]

    def counts(self) -> dict[str, dict[str, int]]:
        """layer -> {"dense" or pattern: instructions}: what the budgets hold."""
        return {
            r.layer.name: {"dense": r.dense_instructions, **{p: v[0] for p, v in r.sparse.items()}}
            for r in self.results
        }

    def floors(self) -> dict[str, dict[str, float]]:
        """layer -> {min_ratio_<pattern>: floor}: the goal, or the measured ratio less 2 %."""
        return {
            r.layer.name: {
                RATIO_KEY + p: min(goal, float(f"{0.98 * r.ratio(p):.2f}"))
                for p, goal in MIN_RATIOS.items()
                if p in r.sparse
            }
            for r in self.results
        }

    def goal_misses(self) -> list[str]:
        """One line per (layer, pattern) below its `MIN_RATIOS` goal."""
        return [
            f"{r.layer.name} ({r.layer.describe()}) {p}: {r.ratio(p):.2f}x, goal {goal:g}x"
            for r in self.results
            for p, goal in MIN_RATIOS.items()
            if p in r.sparse and r.ratio(p) < goal
        ]

    def ratio_failures(self, floors: dict[str, dict[str, float]]) -> list[str]:
        """One line per (layer, pattern) below its recorded floor (missing: the goal)."""
        bad = []
        for r in self.results:
            for p, goal in MIN_RATIOS.items():
                floor = floors.get(r.layer.name, {}).get(RATIO_KEY + p, goal)
                if p in r.sparse and r.ratio(p) < floor:
                    bad.append(
                        f"{r.layer.name} ({r.layer.describe()}) {p}: dense / sparse "
                        f"{r.ratio(p):.2f}x, below its {floor:g}x floor"
                    )
        return bad


def run_sparse(
    target_name: str,
    variant: str | None,
    build_root: Path | None,
    seed: int,
    layers: tuple[SparseLayer, ...] = SPARSE_LAYERS,
    progress: Callable[[str], None] = lambda _m: None,
) -> SparseReport:
    """Every layer of `layers`, dense and every pattern, on (target, variant)."""
    from tinytx.core.targets import get_target
    from tinytx.toolchain.bench.firmware import compiler_version
    from tinytx.toolchain.bench.run import BenchSession

    target = get_target(target_name)
    session = BenchSession(target, variant or target.default_kernels, build_root,
                           progress=progress)  # fmt: skip
    results = []
    for layer in layers:
        progress(f"{target.name}/{session.variant} {layer.name} ({layer.describe()})")
        where = f"{target.name}/{session.variant} layer {layer.name}"
        results.append(measure_layer(session.runner, layer, seed, where))
    return SparseReport(target.name, session.variant, compiler_version(target), seed,
                        tuple(results))  # fmt: skip


def table(report: SparseReport) -> str:
    """Instructions, ratio and weight bytes per layer: dense, then each pattern."""
    head = f"{'layer':16} {'shape':24} {'dense':>10} {'bytes':>6}"
    for p in PATTERNS:
        head += f" | {p.name:>15} {'ratio':>6} {'bytes':>6}"
    lines = [
        f"sparse weights: exact instructions on {report.target} ({report.variant} kernels), "
        f"seed {report.seed}",
        head,
    ]
    for r in report.results:
        line = f"{r.layer.name:16} {r.layer.describe():24} {r.dense_instructions:>10,} "
        line += f"{r.dense_bytes:>6}"
        for p in PATTERNS:
            n, nbytes, _ = r.sparse[p.name]
            line += f" | {n:>15,} {r.ratio(p.name):>5.2f}x {nbytes:>6}"
        lines.append(line)
    return "\n".join(lines)


def to_json(report: SparseReport) -> dict:
    return {
        "target": report.target,
        "kernels": report.variant,
        "compiler": report.compiler,
        "seed": report.seed,
        "unit": "exact executed instructions",
        "layers": [
            {
                "layer": r.layer.name,
                "shape": r.layer.describe(),
                "dense": {"instructions": r.dense_instructions, "weight_bytes": r.dense_bytes},
                **{
                    p: {
                        "instructions": n,
                        "weight_bytes": nbytes,
                        "entries": entries,
                        "ratio": round(r.ratio(p), 3),
                    }
                    for p, (n, nbytes, entries) in r.sparse.items()
                },
            }
            for r in report.results
        ],
    }


# ------------------------------------------------------------------ cost formulas
#: Extra sparsities measured by --fit-costs (besides `PATTERNS`), so that every formula
#: sees more points than terms.
FIT_SPARSITIES = (0.5, 0.75, 0.9)


def cost_file() -> Path:
    from tinytx.core.plan.sparse_costs import COST_FILE

    return Path(COST_FILE)


def _shape(layer: SparseLayer) -> LayerShape:
    rows, cols = layer.rows_cols
    if layer.kind == "linear":
        return LayerShape(layer.linear[0], rows, cols)
    oh, ow = layer.out_pixels
    _, _, cin, _, kh, kw = layer.conv[:6]
    return LayerShape(oh * ow, rows, cols, kh, kw * cin, cin)


def fit_points(report: SparseReport, extra: dict[str, list[tuple[str, int, int]]]) -> list[dict]:
    """The measured points: per layer the dense call and every (kernel, entries, count) of
    `extra` (layer name -> measurements of the sparse kernels)."""
    points = []
    for r in report.results:
        s = _shape(r.layer)
        base = {"layer": r.layer.name, "tokens": s.tokens, "rows": s.rows, "cols": s.cols,
                "kernel_h": s.kernel_h, "kernel_row_bytes": s.kernel_row_bytes,
                "in_c": s.in_c}  # fmt: skip
        points.append({**base, "kernel": f"{r.layer.kind}_dense", "entries": 0,
                       "instructions": r.dense_instructions})  # fmt: skip
        for kernel, entries, count in extra.get(r.layer.name, []):
            points.append({**base, "kernel": kernel, "entries": entries, "instructions": count})
    return points


def _point_shape(p: dict) -> LayerShape:
    return LayerShape(
        p["tokens"], p["rows"], p["cols"], p["kernel_h"], p["kernel_row_bytes"], p.get("in_c", 0)
    )


def fit_tables(points: list[dict]) -> dict[str, dict[str, float]]:
    """Non-negative coefficients of least relative squared error, per kernel."""
    from tinytx.core.plan.sparse_costs import KERNELS, terms
    from tinytx.toolchain.bench.fit_costs import nnls

    out: dict[str, dict[str, float]] = {}
    for kernel in KERNELS:
        pts = [p for p in points if p["kernel"] == kernel]
        if not pts:
            continue
        names = list(terms(kernel, LayerShape(1, 1, 1)))
        rows = np.array(
            [
                [terms(kernel, _point_shape(p), p["entries"])[n] for n in names]
                for p in pts
            ]
        )  # fmt: skip
        meas = np.array([float(p["instructions"]) for p in pts])
        scale = rows.max(axis=0)
        scale[scale == 0] = 1.0
        c = nnls(rows / scale / meas[:, None], np.ones(len(pts))) / scale
        out[kernel] = {n: float(f"{v:.6g}") for n, v in zip(names, c, strict=True) if v > 0}
    return out


def write_costs(report: SparseReport, build_root: Path | None = None) -> str:
    """Measure every layer at `FIT_SPARSITIES` in both formats, fit, rewrite the table of
    ``<target>/<variant>`` in sparse_costs.yaml; returns that key."""
    import yaml

    from tinytx.core.atomic import write_text
    from tinytx.core.targets import get_target
    from tinytx.toolchain.bench.run import BenchSession

    session = BenchSession(get_target(report.target), report.variant, build_root)
    pats = tuple(
        Pattern(f"{f.name.lower()}_{round(100 * s)}", f, s)
        for f in (SparseFormat.BLOCK4, SparseFormat.UNSTRUCTURED)
        for s in FIT_SPARSITIES
    )
    extra: dict[str, list[tuple[str, int, int]]] = {}
    for layer in SPARSE_LAYERS:
        res = measure_layer(session.runner, layer, report.seed, f"fit {layer.name}", pats)
        extra[layer.name] = [
            (f"{layer.kind}_{p.format.name.lower()}", res.sparse[p.name][2], res.sparse[p.name][0])
            for p in pats
        ]
    points = fit_points(report, extra)
    key = f"{report.target}/{report.variant}"
    path = cost_file()
    data = yaml.safe_load(path.read_text()) if path.exists() else {"tables": {}}
    data["tables"][key] = {
        "compiler": report.compiler,
        "measured_by": "tinytx bench --sparse --fit-costs (tinytx.toolchain.bench.sparse, "
        f"unicorn, seed {report.seed})",
        "coefficients": fit_tables(points),
        "points": points,
    }
    header = (
        "# Instruction-count formulas of dense vs sparse-weight linear / conv2d kernels\n"
        "# (scripts/tinytx/core/plan/sparse_costs.py): instructions = sum of coefficient x\n"
        "# term, fitted to exact unicorn counts of the sample models' layers (`points`) by\n"
        "# `tinytx bench --sparse --fit-costs --target <m4|m7> --kernels <arm|ref>`\n"
        "# (tinytx.toolchain.bench.sparse); do not edit by hand.\n"
    )
    write_text(path, header + yaml.safe_dump(data, sort_keys=False, width=100))
    return key
