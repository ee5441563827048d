"""Instruction-count formulas of the attention kernels, per CPU and kernel variant.

The schedule chooser (:mod:`tinytx.plan.choose`) prices every candidate schedule of an
attention block before any firmware exists: the executed instructions of one call of
``tinytx_mhsa_s8`` (layer-wise), ``tinytx_fwsa_s8`` (layer-wise, fused weights),
``tinytx_mhsa_dft_s8`` or ``tinytx_fwsa_dft_s8`` (depth-first tiles of ``x`` query rows) as

    instructions(S, E, H, P, x) = sum_i  c_i * term_i(S, E, H, P, x)

with the terms of :data:`TERMS` (MAC counts, softmax elements, rows, tiles, the odd rows
the DSP kernels handle one at a time, ...) and non-negative coefficients ``c_i`` fitted
to exact unicorn counts. The coefficients live in ``attention_costs.yaml`` next to this
module, one table per ``<cpu>/<variant>`` (``m4/arm``, ``m7/arm``, ``m4/ref``), with the
compiler and the shapes they were fitted on. Re-fit them after a kernel changes, and
check them against the bench shapes A-D, with::

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
from functools import lru_cache
from pathlib import Path

import yaml

from tinytx.workloads import MhsaShape

COST_FILE = Path(__file__).with_name("attention_costs.yaml")
KERNELS = ("mhsa", "fwsa", "mhsa_dft", "fwsa_dft")
#: Largest relative error of a formula against the bench shapes A-D that --check-costs
#: (and tests/python/test_schedule_choice.py) accept, per kernel: the layer-wise blocks
#: fit within 0.1 %, the composed DFT kernels within about 5.5 % (tile overheads).
MARGIN = {"mhsa": 0.02, "fwsa": 0.02, "mhsa_dft": 0.06, "fwsa_dft": 0.06}


def _odd_tiles(s: int, x: int) -> int:
    """Tiles of one head with an odd number of rows (the DSP kernels pair rows)."""
    q, r = divmod(s, x)
    return q * (x % 2) + (r % 2)


def _tiles(s: int, x: int, h: int) -> int:
    return h * math.ceil(s / x)


Term = Callable[[int, int, int, int, int, int], float]  # (s, e, h, p, x, d) -> value

#: name -> term; ``d`` is the score dot-product length (P, or E with fused weights),
#: ``x`` the tile rows (S for the layer-wise kernels: one tile per head).
TERMS: dict[str, Term] = {
    "proj_macs": lambda s, e, h, p, x, d: s * e * h * p,  # one projection (V, output)
    "score_proj_macs": lambda s, e, h, p, x, d: s * e * h * d,  # Q and K, or T
    "score_macs": lambda s, e, h, p, x, d: h * s * s * d,  # QK^T (or T X^T)
    "av_macs": lambda s, e, h, p, x, d: h * s * s * p,
    "softmax": lambda s, e, h, p, x, d: h * s * s,  # score elements
    "rows": lambda s, e, h, p, x, d: h * s,  # query rows of all heads
    "proj_outputs": lambda s, e, h, p, x, d: s * h * p,
    "tokens": lambda s, e, h, p, x, d: s * e,
    "head_weights": lambda s, e, h, p, x, d: h * e * (p + d),
    "tiles": lambda s, e, h, p, x, d: _tiles(s, x, h),
    "tile_keys": lambda s, e, h, p, x, d: _tiles(s, x, h) * s,
    "tile_p": lambda s, e, h, p, x, d: _tiles(s, x, h) * p,
    "tile_e": lambda s, e, h, p, x, d: _tiles(s, x, h) * e,
    "tile_d": lambda s, e, h, p, x, d: _tiles(s, x, h) * d,
    "tile_weights": lambda s, e, h, p, x, d: _tiles(s, x, h) * e * d,
    "tile_values": lambda s, e, h, p, x, d: _tiles(s, x, h) * s * p,
    "odd_rows": lambda s, e, h, p, x, d: h * _odd_tiles(s, x),
    "odd_scores": lambda s, e, h, p, x, d: h * _odd_tiles(s, x) * s * d,
    "odd_av": lambda s, e, h, p, x, d: h * _odd_tiles(s, x) * s * p,
    "odd_proj": lambda s, e, h, p, x, d: h * _odd_tiles(s, x) * e * d,
    "odd_keys": lambda s, e, h, p, x, d: h * _odd_tiles(s, x) * s,
    "heads": lambda s, e, h, p, x, d: h,
    "one": lambda s, e, h, p, x, d: 1,
}


def kernel_name(fused: bool, tile: int | None) -> str:
    return ("fwsa" if fused else "mhsa") + ("_dft" if tile is not None else "")


def terms(shape: MhsaShape, fused: bool, tile: int | None) -> dict[str, float]:
    """Every term's value for one call (``tile`` None: layer-wise)."""
    s, e, h, p = shape.seq_len, shape.embed_dim, shape.heads, shape.head_dim
    x = s if tile is None else tile
    d = e if fused else p
    return {name: float(f(s, e, h, p, x, d)) for name, f in TERMS.items()}


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
