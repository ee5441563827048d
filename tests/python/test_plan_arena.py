"""The arena planner: valid plans, never worse than TFLite-Micro's greedy planner,
close to the exhaustive optimum on tiny schedules, in-place reuse, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from tinytx.core.plan import Buffer, Schedule, Step, plan_arena
from tinytx.core.plan.arena import (
    EXHAUSTIVE_MAX,
    SMALL,
    check_plan,
    optimal_arena,
    tflm_greedy,
)


def random_schedule(rng: np.random.Generator, max_steps: int = 12, min_steps: int = 1) -> Schedule:
    """A random DAG of steps: each reads 1-3 live buffers and writes 1-2 new ones."""
    sizes = [1, 3, 4, 16, 17, 100, 255, 256, 1000, 4096]
    buffers: list[Buffer] = []

    def new(prefix: str) -> str:
        size = int(rng.choice(sizes)) if rng.random() < 0.5 else int(rng.integers(1, 2000))
        b = Buffer(f"{prefix}{len(buffers)}", size, int(rng.choice([1, 1, 4, 8])))
        buffers.append(b)
        return b.name

    inputs = [new("in") for _ in range(int(rng.integers(1, 3)))]
    available = list(inputs)
    steps: list[Step] = []
    for i in range(int(rng.integers(min_steps, max_steps + 1))):
        reads = tuple(
            rng.choice(
                available, size=min(len(available), int(rng.integers(1, 4))), replace=False
            ).tolist()
        )
        writes = tuple(new("t") for _ in range(int(rng.integers(1, 3))))
        inplace = ((reads[0], writes[0]),) if rng.random() < 0.3 else ()
        scratch = int(rng.integers(1, 600)) if rng.random() < 0.3 else 0
        steps.append(Step(f"s{i}", reads, writes, inplace, scratch))
        available += writes
    outputs = (steps[-1].writes[0],)
    if rng.random() < 0.3:
        outputs += (inputs[0],)
    return Schedule(tuple(buffers), tuple(steps), tuple(inputs), outputs)


@pytest.mark.parametrize("align", [1, 4, 16])
def test_never_worse_than_tflm_greedy_on_random_schedules(align: int) -> None:
    rng = np.random.default_rng(align)
    better = 0
    for _ in range(300):
        sched = random_schedule(rng)
        plan = plan_arena(sched, align)
        check_plan(sched, plan)
        tflm = tflm_greedy(sched, align)
        check_plan(sched, tflm)
        assert plan.lower_bound <= plan.arena_bytes <= tflm.arena_bytes
        better += plan.arena_bytes < tflm.arena_bytes
    assert better > 0  # the extra candidates and in-place reuse do win sometimes


def test_long_schedules() -> None:
    """Long schedules take the numpy placement path; same guarantees, and quick."""
    rng = np.random.default_rng(9)
    for _ in range(6):
        sched = random_schedule(rng, max_steps=80, min_steps=40)
        plan = plan_arena(sched, 4)
        check_plan(sched, plan)
        assert plan.lower_bound <= plan.arena_bytes <= tflm_greedy(sched, 4).arena_bytes
        assert len(sched.buffers) + sum(st.scratch > 0 for st in sched.steps) > SMALL


def test_close_to_the_optimum_on_tiny_schedules() -> None:
    rng = np.random.default_rng(5)
    gaps = []
    for _ in range(150):
        sched = random_schedule(rng, max_steps=3)
        objects = len(sched.buffers) + sum(s.scratch > 0 for s in sched.steps)
        if objects > 7:
            continue
        opt = min(optimal_arena(sched, 4, True), optimal_arena(sched, 4, False))
        plan = plan_arena(sched, 4)
        assert plan.arena_bytes >= opt >= plan.lower_bound
        if objects <= EXHAUSTIVE_MAX:
            assert plan.arena_bytes == opt
        gaps.append(plan.arena_bytes / opt)
    assert len(gaps) > 50
    assert sum(g == 1.0 for g in gaps) >= 0.8 * len(gaps)
    assert max(gaps) < 1.05


def test_chain_reuses_memory_and_scratch_lives_one_step() -> None:
    sched = Schedule(
        (Buffer("x", 100), Buffer("a", 200), Buffer("b", 50), Buffer("y", 100)),
        (
            Step("s0", ("x",), ("a",)),
            Step("s1", ("a",), ("b",), scratch=40),
            Step("s2", ("b",), ("y",)),
        ),
        ("x",),
        ("y",),
    )
    plan = plan_arena(sched, 4)
    assert plan.lifetimes == {"x": (-1, 0), "a": (0, 1), "b": (1, 2), "y": (2, 3)}
    # the peak is s0: x (100) + a (200); at s1 a + b + scratch = 200 + 52 (b, aligned) + 40
    assert plan.arena_bytes == plan.lower_bound == 300
    assert set(plan.scratch_offsets) == {"s1"}
    assert plan.scratch_offsets["s1"] % 4 == 0


def test_in_place_output_takes_the_input_memory() -> None:
    sched = Schedule(
        (Buffer("x", 64), Buffer("y", 64)),
        (Step("gelu", ("x",), ("y",), inplace=(("x", "y"),)),),
        ("x",),
        ("y",),
    )
    plan = plan_arena(sched, 4)
    assert plan.offsets["x"] == plan.offsets["y"] and plan.arena_bytes == 64
    assert plan.aliases == {"y": "x"}
    # not when x must outlive the step
    kept = Schedule(sched.buffers, sched.steps, ("x",), ("x", "y"))
    plan = plan_arena(kept, 4)
    assert plan.arena_bytes == 128 and plan.aliases == {}


def test_alignment_per_buffer_and_target() -> None:
    sched = Schedule(
        (Buffer("x", 3), Buffer("y", 5, align=16)),
        (Step("s", ("x",), ("y",)),),
        ("x",),
        ("y",),
    )
    plan = plan_arena(sched, 8)
    assert plan.offsets == {"y": 0, "x": 8}  # y (5 bytes) first, x at the next 8
    assert plan.arena_bytes == 11


def test_tflm_greedy_known_layout() -> None:
    # sizes 100, 60, 40; a and c are live together, b overlaps both
    sched = Schedule(
        (Buffer("a", 100), Buffer("b", 60), Buffer("c", 40)),
        (Step("s0", ("a",), ("b",)), Step("s1", ("b",), ("c",))),
        ("a",),
        ("c",),
    )
    plan = tflm_greedy(sched, 16)
    assert plan.offsets == {"a": 0, "b": 112, "c": 0}
    assert plan.arena_bytes == 176


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Buffer("a", 0), "size must be"),
        (lambda: Buffer("a", 4, 3), "power of two"),
        (lambda: Step("s", ("a",), ()), "writes no buffer"),
        (lambda: Step("s", ("a",), ("b",), inplace=(("b", "a"),)), "in-place pair"),
        (
            lambda: Schedule(
                (Buffer("a", 4), Buffer("b", 4)), (Step("s", ("a",), ("a",)),), ("a",), ("a",)
            ),
            "writes the graph input",
        ),
        (
            lambda: Schedule(
                (Buffer("a", 4), Buffer("b", 4)), (Step("s", ("b",), ("a",)),), (), ("a",)
            ),
            "reads 'b' before any step writes it",
        ),
        (
            lambda: Schedule((Buffer("a", 4),), (Step("s", ("a",), ("z",)),), ("a",), ()),
            "buffer 'z' is not declared",
        ),
        (
            lambda: Schedule((Buffer("a", 4), Buffer("a", 8)), (), (), ()),
            "used twice",
        ),
    ],
)
def test_bad_schedules_are_rejected(build, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()


def test_bad_alignment_is_rejected() -> None:
    sched = Schedule((Buffer("a", 4), Buffer("b", 4)), (Step("s", ("a",), ("b",)),), ("a",), ("b",))
    with pytest.raises(ValueError, match="power of two"):
        plan_arena(sched, 6)
