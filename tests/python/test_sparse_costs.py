"""The dense vs sparse instruction formulas (tinytx.core.plan.sparse_costs)."""

from __future__ import annotations

import pytest

from tinytx.core.plan import sparse_costs as sc


def test_every_table_has_every_kernel() -> None:
    tables = sc.load_tables()
    assert "m4/arm" in tables
    for table in tables.values():
        assert set(table.coefficients) == set(sc.KERNELS)
        for coef in table.coefficients.values():
            assert all(c >= 0 for c in coef.values())


def test_formulas_within_margin_of_the_measured_points() -> None:
    """Each table reproduces the unicorn counts it was fitted on within MARGIN."""
    for table in sc.load_tables().values():
        for p in table.points:
            shape = sc.LayerShape(
                p["tokens"],
                p["rows"],
                p["cols"],
                p.get("kernel_h", 1),
                p.get("kernel_row_bytes", 0),
                p.get("in_c", 0),
            )
            got = table.instructions(p["kernel"], shape, p.get("entries", 0))
            assert got == pytest.approx(p["instructions"], rel=sc.MARGIN), p


def test_sparse_is_cheaper_when_pruned_hard() -> None:
    t = sc.cost_table("m4/arm")
    shape = sc.LayerShape(16, 64, 32)
    dense = t.instructions("linear_dense", shape)
    assert t.instructions("linear_block4", shape, entries=64 * 8 // 4) < dense
    assert t.instructions("linear_unstructured", shape, entries=64 * 32 // 10) < dense
    assert t.instructions("linear_unstructured", shape, entries=64 * 32) > dense
