"""The planner's arena is what the firmware really uses, on QEMU Cortex-M4.

One firmware boot per kernel variant runs every case: shapes A-D, the layer-wise
schedule (primitive kernels at the planner's offsets) and the DFT kernel at several
tile sizes, FWSA, an input that must stay live, and two deliberately wrong plans that
the proof must reject. Each case runs twice with different canary bytes; the high-water
mark must equal the planned arena, the output must equal the golden model and the guard
zone before the arena must be untouched.
"""

from __future__ import annotations

import pytest

from tinytx.core.plan.budget import ram_budget
from tinytx.core.plan.mhsa import choose_tile
from tinytx.core.workloads import SHAPES
from tinytx.toolchain.canary import CanarySpec, run_canary

pytestmark = pytest.mark.firmware


def _specs() -> list[CanarySpec]:
    specs: list[CanarySpec] = []
    budget = ram_budget("nucleo_l476rg").budget
    for name, shape in SHAPES.items():
        s = shape.seq_len
        specs.append(CanarySpec(shape, "layerwise", label=name))
        chosen = choose_tile(shape, budget).tile_rows
        for x in sorted({1, 3, s // 2 + 1, chosen, s}):
            specs.append(CanarySpec(shape, "dft", x, label=name))
    for name in ("A", "C"):
        shape = SHAPES[name]
        specs.append(CanarySpec(shape, "layerwise", fused=True, label=name))
        for x in (1, 6, shape.seq_len):
            specs.append(CanarySpec(shape, "dft", x, fused=True, label=name))
    b = SHAPES["B"]
    specs.append(CanarySpec(b, "layerwise", keep_input=True, label="B"))
    specs.append(CanarySpec(b, "dft", 5, keep_input=True, label="B"))
    specs.append(CanarySpec(b, "dft", 4, align=16, label="B"))
    return specs


WRONG = [
    CanarySpec(SHAPES["A"], "dft", 5, scratch_error=4, label="A"),
    CanarySpec(SHAPES["D"], "layerwise", scratch_error=4, label="D"),
]


@pytest.fixture(scope="module", params=["arm", "ref"])
def results(request, build_root):
    specs = _specs() + WRONG
    out = run_canary(specs, "m4", request.param, build_root, timeout=300)
    return out[: -len(WRONG)], out[-len(WRONG) :]


def test_planned_arena_equals_measured_high_water(results) -> None:
    good, _ = results
    assert len(good) > 30
    bad = [
        f"{r.spec.describe()}: planned {r.planned}, high-water {r.highwater}, "
        f"match {r.match}, guard {r.guard_ok}, status {r.status}"
        for r in good
        if not r.ok
    ]
    assert not bad, "\n".join(bad)
    shapes_and_schedules = {(r.spec.label, r.spec.schedule) for r in good}
    assert {(n, k) for n in "ABCD" for k in ("layerwise", "dft")} <= shapes_and_schedules


def test_dft_uses_less_memory_than_layerwise_on_the_target(results) -> None:
    good, _ = results
    for name in "ABCD":
        lw = next(r for r in good if r.spec.label == name and r.spec.schedule == "layerwise")
        x1 = next(r for r in good if r.spec.label == name and r.spec.tile_rows == 1)
        assert x1.highwater < lw.highwater
    d_lw = next(r for r in good if r.spec.label == "D" and r.spec.schedule == "layerwise")
    d_x1 = next(r for r in good if r.spec.label == "D" and r.spec.tile_rows == 1)
    # whole arena, X and Y included; the arm DFT kernel holds K_h and V_h^T as int16 (the
    # operands of its 2 x 2 SMLAD tiles), twice the reference kernel's int8 ones
    ratio = 5 if d_x1.spec.kernels == "arm" else 7
    assert d_lw.highwater > ratio * d_x1.highwater


def test_a_wrong_plan_is_caught(results) -> None:
    _, wrong = results
    for r in wrong:
        assert not r.ok, r.spec.describe()
