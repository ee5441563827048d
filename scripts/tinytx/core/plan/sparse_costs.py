"""Instruction-count formulas of the linear / conv2d kernels, dense vs sparse weights.

The converter decides per layer whether to store its weights dense (``tinytx_linear_s8``,
``tinytx_conv2d_s8``) or as ``tinytx_sparse_weights`` (``tinytx_linear_sparse_s8``,
``tinytx_conv2d_sparse_s8``) before any firmware exists, from

    instructions = sum_i  c_i * term_i(layer, entries)

with the terms of :func:`terms` and the coefficients of ``sparse_costs.yaml`` (next to
this module) per ``<cpu>/<variant>`` and kernel (``linear_dense``, ``linear_block4``,
``linear_unstructured``, ``conv_dense``, ``conv_block4``, ``conv_unstructured``). They
were fitted to exact unicorn counts of the sample models' layers by ``tinytx bench
--sparse --fit-costs`` (tinytx.toolchain.bench.sparse), which also stores the measured
points the fit saw; ``tinytx bench --sparse`` compares the formulas with fresh counts
(:data:`MARGIN`). The terms follow the loops of the Cortex-M kernels
(kernels/src/arm/tinytx_arm_sparse.h): passes of 4 tokens (or output pixels), one walk
over every weight row per pass, one widening of the pass's inputs; the dense terms are
MACs and outputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from tinytx.core.resources import package_file

COST_FILE = package_file("tinytx.core.plan", "sparse_costs.yaml")
KERNELS = (
    "linear_dense",
    "linear_block4",
    "linear_unstructured",
    "conv_dense",
    "conv_block4",
    "conv_unstructured",
)
#: Largest relative error of a formula against the measured points it was fitted on.
MARGIN = 0.06
TOKENS_PER_PASS = 4  # TT_SPARSE_TOKENS of kernels/src/arm/tinytx_arm_sparse_layout.h
#: Entries of a weight row the Cortex-M conv walks unrolled (TT_SPC_UNROLL of
#: kernels/src/arm/tinytx_conv2d_sparse_s8.c); longer rows take its loop.
UNROLLED_ENTRIES = 16


@dataclass(frozen=True)
class LayerShape:
    """A linear layer (tokens = S, rows = N, cols = K) or a convolution (tokens = output
    pixels, rows = C_out, cols = KH * KW * C_in)."""

    tokens: int
    rows: int
    cols: int
    kernel_h: int = 1  # convolutions: the kernel rows, and the bytes of one kernel row
    kernel_row_bytes: int = 0  # (kernel_w * in_c)
    in_c: int = 0  # convolutions: the input channels (0: unknown)


def terms(kernel: str, shape: LayerShape, entries: int = 0) -> dict[str, float]:
    """The terms of one kernel's formula for a layer with ``entries`` sparse entries."""
    t, r, c = shape.tokens, shape.rows, shape.cols
    if kernel.endswith("_dense"):
        return {"one": 1.0, "macs": float(t * r * c), "outputs": float(t * r)}
    passes = -(-t // TOKENS_PER_PASS)
    kpad = -(-c // 4) * 4
    out = {
        "one": 1.0,
        "outputs": float(t * r),
        "row_passes": float(r * passes),
        "entry_passes": float(entries * passes),
        "widen": float(passes * kpad),
        "entries": float(entries),
    }
    if kernel.startswith("conv"):
        # the direct path (kernels/src/arm/tinytx_conv2d_sparse_s8.c): no widened pass
        # inputs but an int16 image of the input, built once (values per output pixel),
        # the passes' own work, and the walk when rows are too long to unroll (every row
        # alike)
        del out["widen"]
        out["passes"] = float(passes)
        out["image"] = float(t * shape.in_c)
        looped = entries > UNROLLED_ENTRIES * r
        out["looped_entry_passes"] = float(entries * passes) if looped else 0.0
    return out


@dataclass(frozen=True)
class CostTable:
    cpu_variant: str
    coefficients: dict[str, dict[str, float]]
    points: tuple[dict, ...]  # the measured points of the fit

    def instructions(self, kernel: str, shape: LayerShape, entries: int = 0) -> float:
        coef = self.coefficients[kernel]
        return sum(coef.get(k, 0.0) * v for k, v in terms(kernel, shape, entries).items())


def load_tables(path: Path | None = None) -> dict[str, CostTable]:
    data = yaml.safe_load((path or COST_FILE).read_text())
    return {
        name: CostTable(
            name,
            {k: {t: float(c) for t, c in v.items()} for k, v in table["coefficients"].items()},
            tuple(table.get("points") or ()),
        )
        for name, table in data["tables"].items()
    }


@lru_cache(maxsize=1)
def _default_tables() -> dict[str, CostTable]:
    return load_tables()


def cost_table(cpu_variant: str = "m4/arm") -> CostTable:
    """The table of ``<cpu>/<variant>``; KeyError when none was fitted."""
    return _default_tables()[cpu_variant]
