"""Fit and check the attention cost formulas (:mod:`tinytx.core.plan.costs`) on the bench.

`measure_points` runs the four attention kernels (layer-wise and DFT, with and without
fused weights) on a set of shapes and tile sizes under unicorn, each call checked against
the golden model (:func:`tinytx.toolchain.bench.fwsa_cases.prepare_cases`, :func:`run_case`).
`fit` finds, per kernel, the non-negative coefficients that minimize the *relative*
squared error over those points (Lawson-Hanson NNLS on rows scaled by 1/measured), and
`check` compares a table with measurements of the bench shapes A-D. ``tinytx bench
--fit-costs`` / ``--check-costs`` drive them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from tinytx.core.plan.costs import COST_FILE, KERNELS, TERMS, CostTable, kernel_name, terms
from tinytx.core.resources import resolve_build_dir
from tinytx.core.workloads import SHAPES, MhsaShape

#: Shapes the formulas are fitted on: the bench shapes and others around them (odd sizes,
#: P > E, one head, long and short sequences, the kernels' own paths for head dimensions
#: 2 and 4), so that no term is fitted on one shape.
FIT_SHAPES: tuple[MhsaShape, ...] = (
    *SHAPES.values(),
    MhsaShape(16, 16, 2, 8),
    MhsaShape(33, 24, 3, 8),
    MhsaShape(48, 32, 4, 16),
    MhsaShape(64, 16, 2, 32),
    MhsaShape(25, 40, 1, 40),
    MhsaShape(100, 32, 2, 16),
    MhsaShape(40, 64, 8, 8),
    MhsaShape(7, 12, 2, 6),
    MhsaShape(50, 24, 6, 4),
    MhsaShape(20, 16, 4, 4),
    MhsaShape(37, 12, 3, 2),
)
#: Shapes too slow for the reference kernels at every tile size.
_BIG = {SHAPES["C"], SHAPES["D"]}


def tiles_of(shape: MhsaShape, few: bool = False) -> list[int]:
    """Tile sizes measured: 1, 2, small odd and even sizes, S - 1 and S (clamped)."""
    s = shape.seq_len
    picks = [1, 2, 3, 8, 9, 16, s // 2, s - 1, s] if not few else [2, 9, s]
    return sorted({min(max(x, 1), s) for x in picks})


@dataclass(frozen=True)
class Point:
    shape: MhsaShape
    fused: bool
    tile: int | None
    instructions: int

    @property
    def kernel(self) -> str:
        return kernel_name(self.fused, self.tile)


Progress = Callable[[str], None]


def measure_points(
    target: str,
    variant: str,
    shapes: Sequence[MhsaShape],
    build_root: Path | None = None,
    few_tiles: bool = False,
    seed: int = 7,
    progress: Progress | None = None,
) -> list[Point]:
    """Exact instructions of every attention kernel on `shapes` (each golden-checked)."""
    build_root = resolve_build_dir(build_root)
    from tinytx.toolchain.bench.fwsa_cases import measure_attention

    points: list[Point] = []
    for shape in shapes:
        few = few_tiles or (variant == "ref" and shape in _BIG)
        tiles = tiles_of(shape, few)
        if progress:
            progress(f"{target}/{variant} {shape}: tiles {tiles}")
        fig = measure_attention(shape, target, variant, tiles, tiles, seed, build_root)
        points.append(Point(shape, False, None, fig.measured["mhsa"].instructions))
        points.append(Point(shape, True, None, fig.measured["fwsa"].instructions))
        for fused in (False, True):
            for x, n in fig.tile_costs(fused).items():
                points.append(Point(shape, fused, x, n))
    return points


def nnls(a: np.ndarray, b: np.ndarray, iterations: int = 500) -> np.ndarray:
    """Non-negative least squares, ``min |a c - b|`` with ``c >= 0`` (Lawson-Hanson)."""
    n = a.shape[1]
    c = np.zeros(n)
    passive = np.zeros(n, bool)
    w = a.T @ (b - a @ c)
    for _ in range(iterations):
        if passive.all() or w[~passive].max(initial=-1.0) <= 1e-12:
            break
        j = int(np.argmax(np.where(passive, -np.inf, w)))
        passive[j] = True
        while True:
            z = np.zeros(n)
            z[passive] = np.linalg.lstsq(a[:, passive], b, rcond=None)[0]
            if (z[passive] > 0).all():
                c = z
                break
            neg = passive & (z <= 0)
            alpha = np.min(c[neg] / (c[neg] - z[neg]))
            c = c + alpha * (z - c)
            passive &= c > 1e-12
        w = a.T @ (b - a @ c)
    return c


def fit(points: Sequence[Point]) -> dict[str, dict[str, float]]:
    """Per kernel, the non-negative coefficients of least relative squared error."""
    names = list(TERMS)
    out: dict[str, dict[str, float]] = {}
    for kernel in KERNELS:
        pts = [p for p in points if p.kernel == kernel]
        if not pts:
            continue
        rows = np.array([[terms(p.shape, p.fused, p.tile)[n] for n in names] for p in pts])
        meas = np.array([float(p.instructions) for p in pts])
        scale = rows.max(axis=0)
        scale[scale == 0] = 1.0
        a = rows / scale / meas[:, None]  # relative error, columns of comparable size
        c = nnls(a, np.ones(len(pts))) / scale
        out[kernel] = {n: float(f"{v:.6g}") for n, v in zip(names, c, strict=True) if v > 0}
    return out


@dataclass(frozen=True)
class CheckRow:
    point: Point
    formula: float

    @property
    def error(self) -> float:
        return self.formula / self.point.instructions - 1.0


def check(table: CostTable, points: Sequence[Point]) -> list[CheckRow]:
    return [CheckRow(p, table.instructions(p.shape, p.fused, p.tile)) for p in points]


def write_table(
    key: str, compiler: str, coefficients: dict[str, dict[str, float]], shapes: Sequence[MhsaShape],
    path: Path = COST_FILE,
) -> None:  # fmt: skip
    """Replace (or add) the table `key` of `path`, keeping the others."""
    data = yaml.safe_load(path.read_text()) if path.exists() else None
    data = data or {}
    tables = data.setdefault("tables", {})
    tables[key] = {
        "compiler": compiler,
        "fitted_on": [f"{s.seq_len},{s.embed_dim},{s.head_dim},{s.heads}" for s in shapes],
        "coefficients": coefficients,
    }
    data["tables"] = dict(sorted(tables.items()))
    header = (
        "# Instruction-count formulas of the attention kernels\n"
        "# (scripts/tinytx/core/plan/costs.py):\n"
        "# instructions = sum of coefficient x term, per <cpu>/<variant> and kernel, fitted to\n"
        "# exact unicorn counts on the shapes listed (S,E,P,H). Written by\n"
        "# `tinytx bench --fit-costs --target <m4|m7> --kernels <arm|ref>`; do not edit by hand.\n"
        "# `tinytx bench --check-costs` compares them with the bench shapes A-D.\n"
    )
    path.write_text(header + yaml.safe_dump(data, sort_keys=False, width=100))
    from tinytx.core.plan.costs import _load

    _load.cache_clear()


def report(rows: Sequence[CheckRow]) -> list[str]:
    lines = [f"{'shape':<14} {'kernel':<9} {'x':>4} {'measured':>12} {'formula':>12} {'error':>7}"]
    for r in rows:
        p = r.point
        s = p.shape
        lines.append(
            f"{f'{s.seq_len},{s.embed_dim},{s.head_dim},{s.heads}':<14} {p.kernel:<9} "
            f"{p.tile if p.tile is not None else '-':>4} {p.instructions:>12,} "
            f"{r.formula:>12,.0f} {100 * r.error:>+6.1f}%"
        )
    return lines
