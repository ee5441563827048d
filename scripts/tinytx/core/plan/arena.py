"""Offset assignment: every buffer of a :class:`~tinytx.core.plan.schedule.Schedule` (and every
step's scratch) gets an offset in one arena so that buffers live at the same time never
overlap.

Placement is first-fit or best-fit over a buffer order: each buffer goes to the lowest
(first-fit) or tightest (best-fit) aligned gap left by the already placed buffers whose
lifetimes overlap its own. :func:`plan_arena` tries several orders (size, size then
lifetime, size x lifetime, start, lifetime), both fits, with and without the in-place
aliases the steps allow, and keeps the smallest arena. One of the candidates is exactly
TensorFlow Lite Micro's ``GreedyMemoryPlanner`` (sizes rounded up to the alignment,
largest first, ties in order of appearance, first-fit), so the result is never larger
than that planner's. The best order is then improved by moving each of the highest
objects to the end in turn. Schedules of at most ``EXHAUSTIVE_MAX`` objects are planned
exactly: first-fit over every order reaches the optimum (place the objects of an optimal
plan in the order of their offsets: each lands at or below its optimal offset).
:func:`optimal_arena` is that exhaustive search, used by the tests.

In-place: a step's ``(read, write)`` pair puts ``write`` at the offset of ``read`` when
this step is the last use of ``read`` (and of everything already sharing its memory).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from tinytx.core.plan.schedule import Schedule

SCRATCH_SUFFIX = "#scratch"
EXHAUSTIVE_MAX = 6  # schedules with at most this many objects are planned exactly
MOVE_LAST_MAX = 16  # objects tried at the end of the best order (the highest ones)
SMALL = 48  # up to this many objects, placement loops over plain lists


def align_up(n: int, align: int) -> int:
    return (n + align - 1) // align * align


@dataclass(frozen=True)
class _Item:
    """One placed object: a buffer, an alias group of buffers, or a step's scratch."""

    key: str
    size: int
    align: int
    first: int
    last: int
    order: int  # order of appearance in the schedule (ties)

    def overlaps(self, other: _Item) -> bool:
        return self.first <= other.last and other.first <= self.last

    @property
    def duration(self) -> int:
        return self.last - self.first + 1


@dataclass(frozen=True)
class ArenaPlan:
    """Offsets of a planned schedule. ``arena_bytes`` is the end of the highest buffer
    (not rounded up): the bytes the arena must have from a base aligned to ``align``."""

    offsets: dict[str, int]  # buffer -> offset
    arena_bytes: int
    scratch_offsets: dict[str, int]  # step name -> offset of its scratch (steps with scratch)
    sizes: dict[str, int]  # buffer -> bytes
    lifetimes: dict[str, tuple[int, int]]  # buffer -> (first, last) step, inclusive
    aliases: dict[str, str]  # buffer -> the buffer whose memory it reuses in place
    align: int
    strategy: str
    lower_bound: int  # the largest sum of bytes live at one step: no plan can be smaller

    def end(self, name: str) -> int:
        return self.offsets[name] + self.sizes[name]


def _groups(schedule: Schedule, use_inplace: bool) -> tuple[dict[str, str], dict[str, str]]:
    """``(group_of, aliases)``: each buffer's group representative, and buffer -> the
    read buffer whose memory it takes in place."""
    lifetimes = schedule.lifetimes()
    group_of = {b.name: b.name for b in schedule.buffers}
    aliases: dict[str, str] = {}
    if not use_inplace:
        return group_of, aliases
    last_of_group = {name: last for name, (_, last) in lifetimes.items()}
    members = {b.name: [b.name] for b in schedule.buffers}
    for i, step in enumerate(schedule.steps):
        for read, write in step.inplace:
            g = group_of[read]
            if last_of_group[g] != i or lifetimes[write][0] != i or group_of[write] != write:
                continue
            if len(members[write]) != 1 or write in schedule.inputs:
                continue
            group_of[write] = g
            members[g].append(write)
            last_of_group[g] = max(last_of_group[g], lifetimes[write][1])
            aliases[write] = read
    return group_of, aliases


def _items(
    schedule: Schedule, align: int, group_of: dict[str, str]
) -> tuple[list[_Item], dict[str, int]]:
    lifetimes = schedule.lifetimes()
    order: dict[str, int] = {}
    for name in schedule.inputs:
        order.setdefault(name, len(order))
    for step in schedule.steps:
        for name in (*step.reads, *step.writes):
            order.setdefault(name, len(order))
    groups: dict[str, list[str]] = {}
    for b in schedule.buffers:
        groups.setdefault(group_of[b.name], []).append(b.name)
    items: list[_Item] = []
    for key, names in groups.items():
        bufs = [schedule.buffer(n) for n in names]
        items.append(
            _Item(
                key,
                max(b.size for b in bufs),
                max(align, *(b.align for b in bufs)),
                min(lifetimes[n][0] for n in names),
                max(lifetimes[n][1] for n in names),
                min(order[n] for n in names),
            )
        )
    base = len(order)
    for i, step in enumerate(schedule.steps):
        if step.scratch > 0:
            key = step.name + SCRATCH_SUFFIX
            items.append(_Item(key, step.scratch, max(align, step.scratch_align), i, i, base + i))
    return items, order


def _slot(busy: Iterable[tuple[int, int]], size: int, align: int, fit: str) -> int:
    """The offset for ``size`` bytes among the ``busy`` (start, end) spans, by start."""
    cand, best, best_gap = 0, None, None
    for o, e in busy:
        start = align_up(cand, align)
        if start + size <= o:
            if fit == "first":
                return start
            gap = o - start
            if best_gap is None or gap < best_gap:
                best, best_gap = start, gap
        cand = max(cand, e)
    return align_up(cand, align) if best is None else best


def _place(items: list[_Item], fit: str, round_sizes: bool) -> dict[str, int]:
    """First-fit or best-fit of ``items`` in the given order (numpy for the overlap test
    of long schedules, plain lists for short ones)."""
    n = len(items)
    offsets: dict[str, int] = {}
    if n <= SMALL:
        placed: list[tuple[int, int, _Item]] = []
        for it in items:
            size = align_up(it.size, it.align) if round_sizes else it.size
            busy = sorted((o, e) for o, e, p in placed if p.overlaps(it))
            off = offsets[it.key] = _slot(busy, size, it.align, fit)
            placed.append((off, off + size, it))
        return offsets
    firsts, lasts = np.empty(n, np.int64), np.empty(n, np.int64)
    starts, ends = np.empty(n, np.int64), np.empty(n, np.int64)
    for k, it in enumerate(items):
        size = align_up(it.size, it.align) if round_sizes else it.size
        live = (firsts[:k] <= it.last) & (lasts[:k] >= it.first)
        o_live, e_live = starts[:k][live], ends[:k][live]
        order = np.argsort(o_live, kind="stable")
        busy = zip(o_live[order].tolist(), e_live[order].tolist(), strict=True)
        off = offsets[it.key] = _slot(busy, size, it.align, fit)
        firsts[k], lasts[k], starts[k], ends[k] = it.first, it.last, off, off + size
    return offsets


OrderKey = Callable[[_Item], tuple]
ORDERS: dict[str, OrderKey] = {
    "size": lambda it: (-it.size, it.order),
    "size-lifetime": lambda it: (-it.size, -it.duration, it.order),
    "area": lambda it: (-it.size * it.duration, it.order),
    "start": lambda it: (it.first, -it.size, it.order),
    "lifetime": lambda it: (-it.duration, -it.size, it.order),
}


def _arena_end(items: Iterable[_Item], offsets: dict[str, int]) -> int:
    return max((offsets[it.key] + it.size for it in items), default=0)


def lower_bound(items: list[_Item]) -> int:
    """The largest sum of sizes live at one step."""
    if not items:
        return 0
    lo = min(it.first for it in items)
    live = np.zeros(max(it.last for it in items) - lo + 2, np.int64)
    for it in items:
        live[it.first - lo] += it.size
        live[it.last - lo + 1] -= it.size
    return int(np.cumsum(live).max())


def _build(
    schedule: Schedule,
    align: int,
    group_of: dict[str, str],
    aliases: dict[str, str],
    items: list[_Item],
    offsets: dict[str, int],
    strategy: str,
    bound: int | None = None,
) -> ArenaPlan:
    return ArenaPlan(
        offsets={b.name: offsets[group_of[b.name]] for b in schedule.buffers},
        arena_bytes=_arena_end(items, offsets),
        scratch_offsets={
            s.name: offsets[s.name + SCRATCH_SUFFIX] for s in schedule.steps if s.scratch > 0
        },
        sizes={b.name: b.size for b in schedule.buffers},
        lifetimes=schedule.lifetimes(),
        aliases=aliases,
        align=align,
        strategy=strategy,
        lower_bound=lower_bound(items) if bound is None else bound,
    )


def _check_align(align: int) -> None:
    if isinstance(align, bool) or not isinstance(align, int) or align < 1 or align & (align - 1):
        raise ValueError(f"align: must be a power of two >= 1, got {align!r}")


def tflm_greedy(schedule: Schedule, align: int = 16) -> ArenaPlan:
    """TensorFlow Lite Micro's GreedyMemoryPlanner, as documented: sizes rounded up to the
    alignment, buffers by decreasing size (ties: order of appearance), each at the first
    gap among the placed buffers live at the same time. No in-place reuse. The yardstick
    :func:`plan_arena` is tested against."""
    _check_align(align)
    group_of, aliases = _groups(schedule, use_inplace=False)
    items, _ = _items(schedule, align, group_of)
    items = sorted(items, key=ORDERS["size"])
    offsets = _place(items, "first", round_sizes=True)
    plan = _build(schedule, align, group_of, aliases, items, offsets, "tflm-greedy")
    # TFLM's arena ends at the rounded end of the highest buffer.
    rounded = max((offsets[it.key] + align_up(it.size, it.align) for it in items), default=0)
    return ArenaPlan(**{**plan.__dict__, "arena_bytes": rounded})


def plan_arena(schedule: Schedule, align: int = 4) -> ArenaPlan:
    """The smallest arena over the candidate placements (see the module docstring).
    ``align``: the alignment of every offset (per target; a buffer or scratch may ask for
    more)."""
    _check_align(align)
    best: tuple[int, dict[str, int], str, dict[str, str], dict[str, str], list[_Item]] | None
    best = None
    for use_inplace in (True, False):
        group_of, aliases = _groups(schedule, use_inplace)
        items, _ = _items(schedule, align, group_of)
        suffix = "+inplace" if aliases else ""
        candidates = [
            (f"{name}/{fit}", sorted(items, key=key), fit, False)
            for name, key in ORDERS.items()
            for fit in ("first", "best")
        ]
        candidates.append(("tflm-greedy", sorted(items, key=ORDERS["size"]), "first", True))
        if len(items) <= EXHAUSTIVE_MAX:
            candidates += [
                ("exhaustive", list(perm), "first", False) for perm in itertools.permutations(items)
            ]
        local: tuple[int, list[_Item], str, dict[str, int]] | None = None
        for name, ordered, fit, round_sizes in candidates:
            offsets = _place(ordered, fit, round_sizes)
            end = _arena_end(items, offsets)
            if best is None or end < best[0]:
                best = (end, offsets, name + suffix, group_of, aliases, items)
            if local is None or end < local[0]:
                local = (end, ordered, fit, offsets)
        # Local improvement: move each of the objects that end highest in the best
        # placement to the end of the order (the top of the arena is where alignment
        # padding and a badly chosen last object cost).
        assert local is not None
        _, ordered, fit, offsets = local
        top = sorted(
            range(len(ordered)), key=lambda i: -(offsets[ordered[i].key] + ordered[i].size)
        )
        for i in top[:MOVE_LAST_MAX]:
            moved = ordered[:i] + ordered[i + 1 :] + [ordered[i]]
            offsets = _place(moved, fit, False)
            end = _arena_end(items, offsets)
            if end < best[0]:
                best = (end, offsets, "moved-last" + suffix, group_of, aliases, items)
    assert best is not None
    _, offsets, strategy, group_of, aliases, items = best
    plan = _build(schedule, align, group_of, aliases, items, offsets, strategy)
    check_plan(schedule, plan)
    return plan


def optimal_arena(schedule: Schedule, align: int = 4, use_inplace: bool = True) -> int:
    """The smallest arena any placement can reach (every order, first-fit): exponential,
    for schedules of at most 8 objects (tests)."""
    group_of, _ = _groups(schedule, use_inplace)
    items, _ = _items(schedule, align, group_of)
    if len(items) > 8:
        raise ValueError(f"optimal_arena: {len(items)} objects is too many for exhaustive search")
    return min(
        _arena_end(items, _place(list(perm), "first", False))
        for perm in itertools.permutations(items)
    )


def check_plan(schedule: Schedule, plan: ArenaPlan) -> None:
    """Raise AssertionError if two buffers (or scratch) live at the same time overlap in
    memory, other than in-place aliases, or an offset breaks its alignment."""
    spans = []
    for b in schedule.buffers:
        first, last = plan.lifetimes[b.name]
        off = plan.offsets[b.name]
        assert off % max(plan.align, b.align) == 0, f"{b.name}: offset {off} misaligned"
        spans.append((b.name, off, off + b.size, first, last))
    for i, s in enumerate(schedule.steps):
        if s.scratch > 0:
            off = plan.scratch_offsets[s.name]
            assert off % max(plan.align, s.scratch_align) == 0, f"{s.name} scratch misaligned"
            spans.append((s.name + SCRATCH_SUFFIX, off, off + s.scratch, i, i))

    def root(name: str) -> str:
        while name in plan.aliases:
            name = plan.aliases[name]
        return name

    roots = [root(sp[0]) for sp in spans]
    lo, hi, first, last = (np.array([sp[k] for sp in spans], np.int64) for k in (1, 2, 3, 4))
    assert not spans or int(hi.max()) <= plan.arena_bytes, "a buffer ends past the arena"
    for i, a in enumerate(spans):
        clash = (first <= a[4]) & (last >= a[3]) & (lo < a[2]) & (hi > a[1])
        for j in np.flatnonzero(clash[i + 1 :]) + i + 1:
            if roots[j] != roots[i]:
                raise AssertionError(
                    f"{a[0]} and {spans[j][0]} are live together and overlap in memory"
                )
