"""Instruction-count formulas of the attention kernels, per CPU and kernel variant.

The schedule chooser (:mod:`tinytx.core.plan.choose`) prices every candidate schedule of an
attention block before any firmware exists: the executed instructions of one call of
``tinytx_mhsa_s8`` (layer-wise), ``tinytx_fwsa_s8`` (layer-wise, fused weights),
``tinytx_mhsa_dft_s8`` or ``tinytx_fwsa_dft_s8`` (depth-first tiles of ``x`` query rows) as

    instructions(S, E, H, P, x) = sum_i  c_i * term_i(S, E, H, P, x)

with the terms of :data:`TERMS` and non-negative coefficients ``c_i`` fitted to exact
unicorn counts. The terms count what the loops of the Cortex-M DSP kernels
(kernels/src/arm/tinytx_mhsa_s8.c, tinytx_mhsa_dft_s8.c) do, derived by :class:`Dims`:

- query rows run in pairs: ``ceil(S/2)`` pair steps per head whatever the tile, as a
  tile of ``x`` rows holds ``x`` rounded up to even rows;
- products run in 2 x 2 tiles of int16 row pairs over blocks of 4 of the reduction:
  the Q (or T), K, V projections, the scores of a dot-product length ``d`` (P, or E
  with fused weights) above 4, A*V and the int32 output accumulator are counted in
  blocks, tiles and tile-engine calls; scores with ``d <= 4`` (one-block rows) and
  ``d <= 2`` (packed keys; layer-wise with softmax and A*V fused) have terms of their
  own, and so has the odd last key of an odd S;
- softmax elements are counted over rows padded to a multiple of 4;
- the depth-first engine (also the fused-weight blocks) widens X in chunks of
  ``max(rows, 16)`` rows (:func:`_x_widening`), projects Q per tile, takes its output
  projection as an int32 accumulator or as int8 O and one ``tinytx_linear_s8`` call,
  whichever needs less memory (``ymode`` of the ``arm`` attention layout the C gives,
  :meth:`tinytx.core.plan.scratch.KernelScratch.attention_layout`), and zeroes its scratch
  once.

The reference kernels (plain C loops) are priced with the same table layout; the plain
MAC terms are theirs (each fit picks the terms that matter). The softmax quantization
picks the exp loop (about an instruction per score apart), which no term can see; the
fits absorb it.

The coefficients live in ``attention_costs.yaml`` next to this module, one table per
``<cpu>/<variant>`` (``m4/arm``, ``m7/arm``, ``m4/ref``), with the compiler and the
shapes they were fitted on. Re-fit them after a kernel changes, and check them against
the bench shapes A-D, with::

    tinytx bench --fit-costs              # measure, fit, rewrite attention_costs.yaml
    tinytx bench --check-costs            # formula vs measured, exit 1 outside the margin

(``--target m4|m7``, ``--kernels arm|ref``; docs/benchmarks.md). A table prices
instructions, not cycles: the chooser compares schedules on the same core, where the
two rank alike.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import yaml

from tinytx.core.plan.scratch import KernelScratch
from tinytx.core.resources import package_file
from tinytx.core.workloads import MhsaShape

COST_FILE = package_file("tinytx.core.plan", "attention_costs.yaml")
KERNELS = ("mhsa", "fwsa", "mhsa_dft", "fwsa_dft")
ARM = KernelScratch("arm")  # the loops counted are the Cortex-M DSP kernels' (one core)
#: Largest relative error of a formula against the bench shapes A-D that --check-costs
#: (and tests/python/test_schedule_choice.py) accept, per kernel; the DFT margin leaves
#: room for tile overheads (the fits of today: within 1 % on arm, 2 % on ref).
MARGIN = {"mhsa": 0.02, "fwsa": 0.02, "mhsa_dft": 0.06, "fwsa_dft": 0.06}


def _half(n: int) -> int:
    return (n + 1) // 2


def _even(n: int) -> int:
    return (n + 1) & ~1


def _blocks(n: int) -> int:
    return (n + 3) // 4


@dataclass(frozen=True)
class Dims:
    """One call: S, E, H, P, the tile rows x (S when layer-wise), fused weights or not."""

    s: int
    e: int
    h: int
    p: int
    x: int
    fused: bool
    layerwise: bool

    @property
    def d(self) -> int:
        """Length of a score's dot product: P, or E with fused weights (T . x)."""
        return self.e if self.fused else self.p

    @property
    def engine(self) -> bool:
        """The depth-first engine runs it (all but the layer-wise MHSA block)."""
        return self.fused or not self.layerwise

    @cached_property
    def layout(self) -> dict[str, int]:
        return ARM.attention_layout(self.shape, self.x, self.fused)

    @property
    def shape(self) -> MhsaShape:
        return MhsaShape(self.s, self.e, self.h, self.p)

    @property
    def pairs(self) -> int:
        """Pair steps of query rows per head (every tile holds an even number of rows)."""
        return _half(self.s)

    @property
    def tiles(self) -> int:
        """Tiles per head (of x rounded up to even rows)."""
        return math.ceil(self.s / self.layout["rows"]) if self.engine else 1

    @property
    def ymode(self) -> int:
        """1: the output projection accumulates in int32 (layer-wise MHSA always)."""
        return self.layout["ymode"] if self.engine else 1

    @property
    def zeroed(self) -> int:
        """Words of scratch zeroed once (every part below the score rows)."""
        if self.engine:
            return self.layout["sc"] // 4
        s2, sb = _even(self.s), _blocks(self.s)
        below = ARM.attention(self.shape, None, False) - 3  # its alignment slack
        return (below - 32 * sb - 4 * s2 * _even(self.e)) // 4  # not the scores, Yacc

    @property
    def kv_features(self) -> int:
        """Feature pairs of the per-head K and V projections (fused: V only)."""
        return _half(self.p) * (1 if self.fused else 2)

    @cached_property
    def x_widening(self) -> tuple[int, int]:
        """(rows of X widened to int16, widenings) in one call."""
        if not self.engine or self.fused:
            return self.s, 1  # once, whole
        return _x_widening(self.s, self.h, self.layout["xrows"], self.layout["rows"])

    @property
    def x_chunks(self) -> int:
        """Chunks of X per head that the K and V projections run on."""
        return math.ceil(self.s / self.layout["xrows"]) if self.engine and not self.fused else 1


@lru_cache(maxsize=4096)
def _x_widening(s: int, h: int, xrows: int, rows: int) -> tuple[int, int]:
    """The depth-first engine's X widenings (dft_x_pairs): per head a forward K pass and
    a backward V pass over chunks of xrows, then the Q tiles in spans of whole tiles."""
    first = count = widened = calls = 0
    span = (xrows // rows) * rows  # whole tiles per widening
    for _ in range(h):
        steps = [(r0, xrows, xrows) for r0 in range(0, s, xrows)]
        steps += [(r0, xrows, xrows) for r0 in range(((s - 1) // xrows) * xrows, -1, -xrows)]
        steps += [(r0, rows, span) for r0 in range(0, s, rows)]
        for r0, n, width in steps:
            if count == 0 or r0 < first or r0 + min(n, s - r0) > first + count:
                first, count = r0, min(s - r0, width)
                widened += count
                calls += 1
    return widened, calls


Term = Callable[[Dims], float]

#: name -> what it counts in one call (see the module docstring).
TERMS: dict[str, Term] = {
    # Q (or T), K and V projections: 2 x 2 tiles of (feature pair, token pair), blocks of E
    "proj_blocks": lambda t: t.h * t.pairs * _blocks(t.e) * (_half(t.d) + t.kv_features),
    "proj_tiles": lambda t: t.h * t.pairs * (_half(t.d) + t.kv_features),
    # tile-engine calls: K, V per feature pair and X chunk, Q per feature pair and tile
    "proj_calls": lambda t: t.h * (t.kv_features * t.x_chunks + t.tiles * _half(t.d)),
    "x_widened": lambda t: t.x_widening[0] * t.e,  # elements of X widened to int16
    "x_chunks": lambda t: t.x_widening[1],  # widenings of X
    "weights_widened": lambda t: t.h * t.e * (t.d + t.p * (1 if t.fused else 2) + t.p * t.ymode),
    # scores (and score_macs): 2 x 2 tiles (d > 4), one-block rows (2 < d <= 4), packed
    # keys (d <= 2)
    "score_tiles": lambda t: t.h * t.pairs * _half(t.s) * (t.d > 4),
    # odd S, d > 4: the last key (a pair of one) in a call of its own per pair step
    "odd_key_calls": lambda t: t.h * t.pairs * (t.s % 2) * (t.d > 4),
    "p4_scores": lambda t: t.h * t.s * t.s * (2 < t.d <= 4),
    "p2_scores": lambda t: t.h * t.s * t.s * (t.d <= 2),
    "softmax": lambda t: t.h * t.s * 4 * _blocks(t.s),  # exp and probability elements
    "av_blocks": lambda t: t.h * t.pairs * _half(t.p) * _blocks(t.s),
    # output projection: int32 accumulator tiles (layer-wise P = 2, 4: all heads at once),
    # or int8 O stored and one linear call
    "out_blocks": lambda t: t.ymode * t.pairs * _half(t.e) * _out_kblocks(t),
    "out_tiles": lambda t: t.ymode * t.pairs * _half(t.e) * _out_passes(t),
    "out_linear_macs": lambda t: (1 - t.ymode) * t.s * t.h * t.p * t.e,
    "o8_stores": lambda t: (1 - t.ymode) * t.h * t.s * t.p,
    # plain MACs and outputs: the reference C kernels' loops (no pairs, no padding)
    "proj_macs": lambda t: t.s * t.e * t.h * t.p,  # one projection (V, output)
    "score_proj_macs": lambda t: t.s * t.e * t.h * t.d,  # Q and K, or T
    "score_macs": lambda t: t.h * t.s * t.s * t.d,  # QK^T (or T X^T)
    "av_macs": lambda t: t.h * t.s * t.s * t.p,
    "proj_outputs": lambda t: t.s * t.h * t.p,
    "pair_steps": lambda t: t.h * t.pairs,
    "rows": lambda t: t.h * t.s,
    "tiles": lambda t: t.h * t.tiles,
    "tokens": lambda t: t.s * t.e,
    "zeroed": lambda t: t.zeroed,
    "one": lambda t: 1,
}


def _out_whole(t: Dims) -> bool:
    """tinytx_mhsa_s8.c out_whole: O [S][H*P] kept for one output projection at the end."""
    return not t.engine and t.p in (2, 4)


def _out_kblocks(t: Dims) -> int:
    """Blocks of the output projection's reduction, over all heads."""
    return _blocks(t.h * t.p) if _out_whole(t) else t.h * _blocks(t.p)


def _out_passes(t: Dims) -> int:
    """Passes of the int32 accumulator output projection over Yacc (per head, or one)."""
    return 1 if _out_whole(t) else t.h


def kernel_name(fused: bool, tile: int | None) -> str:
    return ("fwsa" if fused else "mhsa") + ("_dft" if tile is not None else "")


def terms(shape: MhsaShape, fused: bool, tile: int | None) -> dict[str, float]:
    """Every term's value for one call (``tile`` None: layer-wise)."""
    return dict(_terms(shape, fused, tile))


@lru_cache(maxsize=8192)
def _terms(shape: MhsaShape, fused: bool, tile: int | None) -> tuple[tuple[str, float], ...]:
    s = shape.seq_len
    t = Dims(s, shape.embed_dim, shape.heads, shape.head_dim, s if tile is None else tile,
             fused, tile is None)  # fmt: skip
    return tuple((name, float(f(t))) for name, f in TERMS.items())


@dataclass(frozen=True)
class CostTable:
    """The fitted formulas of one ``<cpu>/<variant>``."""

    key: str  # "m4/arm"
    compiler: str
    coefficients: dict[str, dict[str, float]]  # kernel -> term -> coefficient
    note: str = ""

    def instructions(self, shape: MhsaShape, fused: bool, tile: int | None) -> float:
        """Modelled instructions of one attention call (a formula, not a measurement)."""
        kernel = kernel_name(fused, tile)
        coef = self.coefficients.get(kernel)
        if coef is None:
            raise KeyError(f"no cost formula for {kernel} in {self.key}")
        t = terms(shape, fused, tile)
        return sum(c * t[name] for name, c in coef.items())


def load_tables(path: Path = COST_FILE) -> dict[str, CostTable]:
    return dict(_load(path))


@lru_cache(maxsize=4)
def _load(path: Path) -> tuple[tuple[str, CostTable], ...]:
    data = yaml.safe_load(path.read_text()) or {}
    out = []
    for key, t in (data.get("tables") or {}).items():
        coefs = {k: {n: float(v) for n, v in c.items()} for k, c in t["coefficients"].items()}
        for kernel, c in coefs.items():
            unknown = set(c) - set(TERMS)
            if kernel not in KERNELS or unknown:
                raise ValueError(f"{path}: {key}/{kernel}: unknown kernel or terms {unknown}")
        out.append((key, CostTable(key, str(t.get("compiler", "")), coefs, str(t.get("note", "")))))
    return tuple(out)


def cpu_key(cpu: str | None) -> str:
    """``cortex-m7`` -> ``m7``; every other core is priced as the M4 (see `table_for`)."""
    return "m7" if cpu == "cortex-m7" else "m4"


def table_for(cpu: str | None, kernels: str, path: Path = COST_FILE) -> CostTable:
    """The formulas of `kernels` on `cpu`; a core or variant without its own table uses the
    nearest one (the Cortex-M4's; the riscv kernels are the reference C, so ``ref``), and
    says so in its ``note``."""
    tables = load_tables(path)
    variant = "arm" if kernels == "arm" else "ref"
    key = f"{cpu_key(cpu)}/{variant}"
    t = tables.get(key) or tables.get(f"m4/{variant}") or tables.get("m4/arm")
    if t is None:
        raise ValueError(f"{path}: no cost table at all")
    if t.key == key and cpu in ("cortex-m4", "cortex-m7") and kernels == variant:
        return t
    why = f"priced with the {t.key} formulas (no table of its own for {cpu or 'no core'}/{kernels})"
    return dataclasses.replace(t, note=why)


# ----------------------------------------------------------------- sparse weight layers
# The dense-vs-sparse choice of a layer's weights (:mod:`tinytx.core.plan.sparse`) prices
# with the fitted formulas of :mod:`tinytx.core.plan.sparse_costs` (``sparse_costs.yaml``)
# where they have a table for the core and kernel variant, else with the PROVISIONAL
# formulas below.
SPARSE_KERNELS = ("dense", "unstructured", "block4")


@dataclass(frozen=True)
class SparseDims:
    """One dense or sparse linear/conv2d layer, as its loops see it: ``tokens`` output
    positions (linear rows, or conv images x out_h x out_w), W ``[rows][cols]``, and the
    stored entries of the sparse format priced (0 for dense); ``conv``: a convolution."""

    tokens: int
    rows: int
    cols: int
    entries: int = 0
    conv: bool = False
    kernel_h: int = 1  # convolutions: the kernel rows and the bytes of one (kernel_w * in_c)
    kernel_row_bytes: int = 0
    in_c: int = 0  # convolutions: the input channels


#: name -> what it counts in one layer (dense: every MAC; sparse: every entry per token).
SPARSE_TERMS: dict[str, Callable[[SparseDims], float]] = {
    "macs": lambda t: t.tokens * t.rows * t.cols,
    "entry_visits": lambda t: t.tokens * t.entries,
    "outputs": lambda t: t.tokens * t.rows,  # requantized outputs (row_ptr read per row)
    "one": lambda t: 1,
}

#: PROVISIONAL instruction formulas, for a core/variant without a fitted table in
#: ``sparse_costs.yaml`` (the reference and riscv kernels today): hand fits (two linear
#: layers of one shape each, no least squares) to exact unicorn counts of a pruned radar
#: model's linear layers with the reference kernels on the Cortex-M4 (``tinytx run
#: <pruned radar> --target m4 --kernels ref --profile``, and with ``--sparse off``):
#: ``tinytx_linear_s8`` 6.0 instructions per MAC and 77 per output;
#: ``tinytx_linear_sparse_s8`` 22.6 per entry and token (UNSTRUCTURED), 37.6 (BLOCK4), 85
#: per output. Convolutions are priced with the same terms (their window loops are not
#: modelled: a rough estimate).
PROVISIONAL_SPARSE: dict[str, dict[str, float]] = {
    "dense": {"macs": 6.0, "outputs": 77.0, "one": 100.0},
    "unstructured": {"entry_visits": 22.6, "outputs": 85.0, "one": 100.0},
    "block4": {"entry_visits": 37.6, "outputs": 86.0, "one": 100.0},
}


#: The relative error the choice allows the provisional formulas (the hand fits are within
#: 1 % on the linear layers they were fitted on; convolutions are rougher).
PROVISIONAL_MARGIN = 0.10


@dataclass(frozen=True)
class SparseCostTable:
    """The formulas of dense and sparse-weight layers on one ``<cpu>/<variant>``: a fitted
    table of :mod:`tinytx.core.plan.sparse_costs` (``fitted``), else
    :data:`PROVISIONAL_SPARSE`."""

    key: str
    source: str  # "sparse_costs.yaml" or "provisional"
    fitted: object = None  # tinytx.core.plan.sparse_costs.CostTable

    @property
    def provisional(self) -> bool:
        return self.fitted is None

    @property
    def margin(self) -> float:
        """The formulas' relative error the choice allows for (``sparse_costs.MARGIN``, or
        :data:`PROVISIONAL_MARGIN`)."""
        if self.fitted is None:
            return PROVISIONAL_MARGIN
        from tinytx.core.plan.sparse_costs import MARGIN

        return MARGIN

    def instructions(self, kernel: str, dims: SparseDims) -> float:
        """Modelled instructions of one layer (a formula, not a measurement); ``kernel``:
        dense, unstructured or block4."""
        if kernel not in SPARSE_KERNELS:
            raise KeyError(f"no sparse cost formula for {kernel!r}")
        if self.fitted is not None:
            from tinytx.core.plan.sparse_costs import LayerShape

            name = ("conv_" if dims.conv else "linear_") + kernel
            d = dims
            shape = LayerShape(d.tokens, d.rows, d.cols, d.kernel_h, d.kernel_row_bytes, d.in_c)
            return float(self.fitted.instructions(name, shape, dims.entries))  # type: ignore[attr-defined]
        coef = PROVISIONAL_SPARSE[kernel]
        return sum(c * SPARSE_TERMS[name](dims) for name, c in coef.items())


def sparse_table_for(cpu: str | None, kernels: str) -> SparseCostTable:
    """The sparse-weight formulas of ``kernels`` on ``cpu``: the fitted table of
    ``sparse_costs.yaml`` for ``<cpu>/<variant>`` (a core without one: the Cortex-M4's
    table of the variant), else the provisional formulas."""
    from tinytx.core.plan.sparse_costs import load_tables

    tables = load_tables()
    variant = kernels if kernels in ("arm", "ref") else "ref"
    key = f"{cpu_key(cpu)}/{variant}"
    t = tables.get(key) or tables.get(f"m4/{variant}")
    if t is not None:
        return SparseCostTable(t.cpu_variant, "sparse_costs.yaml", t)
    return SparseCostTable(key, "provisional")
