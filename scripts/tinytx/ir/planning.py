"""Planning an IR model: the MHSA variant of each attention block and the arena.

:func:`plan_model` decides, for every :class:`~tinytx.ir.Mhsa` op, fused weights (FWSA,
:func:`tinytx.plan.fwsa.decide_fwsa`, needs calibration inputs) and the schedule:
layer-wise (``tinytx_mhsa_s8``) when the whole model's arena fits the board's RAM budget,
otherwise depth-first tiling (``tinytx_mhsa_dft_s8``) with the largest tile of query rows
that fits. The arena comes from :func:`tinytx.plan.arena.plan_arena` on a schedule built
from the IR: one step per kernel call, views share their input's buffer, the model input
and output live in the caller's buffers (``run(in, out, arena)``), not in the arena.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from tinytx import ir
from tinytx.errors import TinytxError
from tinytx.ir.scratch import ConvGeometry, KernelScratch
from tinytx.plan import ArenaPlan, Buffer, Schedule, Step, plan_arena
from tinytx.plan.fwsa import decide_fwsa, fuse_mhsa
from tinytx.workloads import MhsaShape

ALIGN = 4
MHSA_MODES = ("auto", "layerwise", "dft")


class PlanError(TinytxError):
    """A model cannot be planned as asked (e.g. FWSA forced without calibration data)."""


def mhsa_shape(model: ir.Model, op: ir.Mhsa) -> MhsaShape:
    s, e = model.tensors[op.inputs[0]].shape
    return MhsaShape(s, e, op.heads, op.head_dim)


def scratch_bytes(model: ir.Model, op: ir.Op, scratch: KernelScratch) -> int:
    """Scratch bytes of one op's kernel call (:class:`tinytx.ir.scratch.KernelScratch`;
    the generated code checks the built kernel's size against it at run time)."""
    if isinstance(op, ir.Conv2d) and not isinstance(op, ir.DepthwiseConv2d):
        _, kh, kw, cin = op.weight.shape
        in_w = model.tensors[op.inputs[0]].shape[2]
        return scratch.conv2d(ConvGeometry(in_w, cin, op.weight.shape[0], kh, kw, op.pad))
    if not isinstance(op, ir.Mhsa):
        return 0
    tile = op.tile if op.variant == "dft" else None
    return scratch.attention(mhsa_shape(model, op), tile, op.fwsa is not None)


def inplace_pairs(op: ir.Op, kernels: str = "ref") -> tuple[tuple[str, str], ...]:
    """(input, output) pairs the kernel allows to share memory."""
    if isinstance(op, ir.Add):
        return tuple((i, op.output) for i in op.inputs)
    if isinstance(op, (ir.Gelu, ir.Lut)):
        return ((op.inputs[0], op.output),)
    if isinstance(op, ir.Mhsa) and (op.variant == "dft" or (kernels == "arm" and op.fwsa is None)):
        return ((op.inputs[0], op.output),)
    return ()


@dataclass(frozen=True)
class ModelPlan:
    """A planned model: the IR with its MHSA variants set, and where every tensor lives."""

    model: ir.Model
    arena: ArenaPlan
    places: dict[str, tuple[str, int]]  # tensor -> ("in" | "out" | "arena", byte offset)
    scratch: dict[str, tuple[int, int]]  # op name -> (arena offset, bytes)
    budget: int | None  # bytes of RAM for the arena, None without a board
    budget_text: str
    notes: tuple[str, ...]
    kernels: str = "ref"  # the kernel variant whose scratch sizes were planned
    scratch_source: str = ""

    @property
    def arena_bytes(self) -> int:
        return self.arena.arena_bytes

    @property
    def fits(self) -> bool:
        return self.budget is None or self.arena_bytes <= self.budget

    def describe(self) -> list[str]:
        """One line per decision, for the CLI and the generated header."""
        lines = self.decisions()
        lines += list(self.notes)
        lines.append(f"arena: {self.arena_bytes} bytes ({self.budget_text})")
        lines.append(f"scratch sizes of the '{self.kernels}' kernels, from {self.scratch_source}")
        return lines

    def decisions(self) -> list[str]:
        """The schedule of each attention block."""
        lines = []
        for op in self.model.ops:
            if isinstance(op, ir.Mhsa):
                sh = mhsa_shape(self.model, op)
                how = (
                    "layer-wise"
                    if op.variant == "layerwise"
                    else f"depth-first (DFT), tile x={op.tile}"
                )
                fw = "FWSA yes (fused Q/K weights)" if op.fwsa is not None else "FWSA no"
                lines.append(f"{op.name} ({sh}): {how}, {fw}")
        return lines


def build_schedule(
    model: ir.Model, scratch: KernelScratch, kernels: str = "ref"
) -> tuple[Schedule, dict[str, str]]:
    """The planner's schedule of ``model`` and each tensor's buffer (its alias root)."""
    root = {name: model.alias_root(name) for name in model.tensors}
    io = {root[model.input], root[model.output]}
    buffers: dict[str, Buffer] = {}
    steps: list[Step] = []
    for op in model.ops:
        if isinstance(op, ir.View):
            continue
        reads = tuple(dict.fromkeys(root[n] for n in op.inputs if root[n] not in io))
        out = root[op.output]
        writes: tuple[str, ...] = () if out in io else (out,)
        need = scratch_bytes(model, op, scratch)
        for name in (*reads, *writes):
            buffers.setdefault(name, Buffer(name, model.tensors[name].nbytes, ALIGN))
        if not writes:  # the step writing the model output: only its scratch is ours
            if not need:
                continue
            tmp = f"{op.name}__scratch"
            buffers[tmp] = Buffer(tmp, need, ALIGN)
            writes, need = (tmp,), 0
        pairs = tuple(
            (root[a], root[b])
            for a, b in inplace_pairs(op, kernels)
            if root[a] in reads and root[b] in writes
        )
        steps.append(Step(op.name, reads, writes, pairs, need, ALIGN))
    return Schedule(tuple(buffers.values()), tuple(steps), (), ()), root


def _with_variants(model: ir.Model, variant: dict[str, tuple[str, int]]) -> ir.Model:
    ops = tuple(
        dataclasses.replace(op, variant=variant[op.name][0], tile=variant[op.name][1])
        if isinstance(op, ir.Mhsa) and op.name in variant
        else op
        for op in model.ops
    )
    return dataclasses.replace(model, ops=ops)


def _places(model: ir.Model, arena: ArenaPlan, root: dict[str, str]) -> dict[str, tuple[str, int]]:
    places = {}
    for name in model.tensors:
        r = root[name]
        if r == root[model.input]:
            places[name] = ("in", 0)
        elif r == root[model.output]:
            places[name] = ("out", 0)
        else:
            places[name] = ("arena", arena.offsets[r])
    return places


def _plan_arena(model: ir.Model, scratch: KernelScratch) -> tuple[ArenaPlan, dict[str, str]]:
    schedule, root = build_schedule(model, scratch, scratch.kernels)
    return plan_arena(schedule, ALIGN), root


def mhsa_inputs(model: ir.Model, calibration: np.ndarray) -> dict[str, np.ndarray]:
    """The int8 input rows of every MHSA op over calibration inputs (firmware bytes)."""
    from tinytx.executor import trace

    rows: dict[str, list[np.ndarray]] = {}
    for x in calibration:
        values = trace(model, x)
        for op in model.ops:
            if isinstance(op, ir.Mhsa):
                rows.setdefault(op.name, []).append(values[op.inputs[0]])
    return {k: np.concatenate(v) for k, v in rows.items()}


def _apply_fwsa(
    model: ir.Model, mode: str, calibration: np.ndarray | None
) -> tuple[ir.Model, list[str]]:
    notes: list[str] = []
    fused: dict[str, ir.FwsaForm] = {}
    calib_rows: dict[str, np.ndarray] | None = None
    for op in model.ops:
        if not isinstance(op, ir.Mhsa):
            continue
        if op.per_channel:
            if mode == "on":
                raise PlanError(
                    f"--fwsa on: {op.name} has per-channel projection factors; the fused "
                    "form needs per-tensor q and k factors (use --fwsa auto or off)"
                )
            notes.append(f"{op.name}: FWSA no (per-channel projection factors)")
            continue
        decision = decide_fwsa(mhsa_shape(model, op), mode)
        if not decision.fuse:
            notes.append(f"{op.name}: FWSA no ({decision.reason})")
            continue
        if calibration is None:
            if mode == "on":
                raise PlanError(
                    f"--fwsa on: {op.name} needs calibration inputs to quantize the fused "
                    "weights' output (give --calibration <inputs.npz>)"
                )
            notes.append(
                f"{op.name}: FWSA no (would fuse: {decision.reason}; no calibration "
                "inputs to quantize it, give --calibration)"
            )
            continue
        if calib_rows is None:
            calib_rows = mhsa_inputs(model, calibration)
        try:
            w, q = fuse_mhsa(op.weights, op.quant, op.heads, calib_rows[op.name])
        except ValueError as exc:
            raise PlanError(f"{op.name}: FWSA fusion failed: {exc}") from None
        fused[op.name] = ir.FwsaForm(w, q)
        notes.append(f"{op.name}: FWSA yes ({decision.reason})")
    if not fused:
        return model, notes
    ops = tuple(
        dataclasses.replace(op, fwsa=fused[op.name]) if op.name in fused else op for op in model.ops
    )
    return dataclasses.replace(model, ops=ops), notes


def plan_model(
    model: ir.Model,
    budget: int | None = None,
    budget_text: str = "",
    mhsa: str = "auto",
    tile: int | None = None,
    fwsa: str = "off",
    calibration: np.ndarray | None = None,
    kernels: str = "ref",
    scratch: KernelScratch | None = None,
) -> ModelPlan:
    """Choose the MHSA variants and plan the arena (see the module docstring).

    ``budget``: RAM bytes for the arena (None: no limit, layer-wise everywhere unless
    ``mhsa``/``tile`` say otherwise). ``mhsa``: ``auto``, ``layerwise`` or ``dft``;
    ``tile``: force this many query rows per DFT tile. ``fwsa``: ``auto``/``on``/``off``
    (``calibration``: int8 firmware inputs ``[B][bytes]`` for the fused projection).
    ``kernels``: the variant whose scratch sizes are planned (ref, arm, riscv), from
    ``scratch`` (default: the reference formulas for ``kernels``).
    """
    scratch = scratch or KernelScratch(kernels)
    if mhsa not in MHSA_MODES:
        raise PlanError(f"--mhsa: expected one of {', '.join(MHSA_MODES)}, got {mhsa!r}")
    model, notes = _apply_fwsa(model, fwsa, calibration)
    blocks = [op for op in model.ops if isinstance(op, ir.Mhsa)]
    seq = max((model.tensors[op.inputs[0]].shape[0] for op in blocks), default=0)
    if tile is not None:
        if not blocks:
            raise PlanError("--tile: the model has no attention block to tile")
        if not 1 <= tile <= seq:
            raise PlanError(f"--tile: {tile} outside 1..{seq} (the sequence length)")

    def variants(x: int | None) -> dict[str, tuple[str, int]]:
        if x is None:
            return {op.name: ("layerwise", 0) for op in blocks}
        s_of = {op.name: model.tensors[op.inputs[0]].shape[0] for op in blocks}
        return {op.name: ("dft", min(x, s_of[op.name])) for op in blocks}

    def attempt(x: int | None) -> tuple[ir.Model, ArenaPlan, dict[str, str]]:
        m = _with_variants(model, variants(x))
        arena, root = _plan_arena(m, scratch)
        return m, arena, root

    def fits(a: ArenaPlan) -> bool:
        return budget is None or a.arena_bytes <= budget

    if tile is not None or mhsa == "dft":
        x = tile if tile is not None else seq
        if tile is None and budget is not None:
            x = _largest_fitting(attempt, fits, seq) or 1
        chosen = attempt(x) if blocks else attempt(None)
    else:
        chosen = attempt(None)
        if blocks and mhsa == "auto" and not fits(chosen[1]):
            x = _largest_fitting(attempt, fits, seq)
            if x is None:  # nothing fits: the smallest arena, reported as too big
                chosen = min((attempt(1), chosen), key=lambda c: c[1].arena_bytes)
                notes.append("no MHSA schedule fits the RAM budget")
            else:
                chosen = attempt(x)
                notes.append(f"layer-wise MHSA does not fit: depth-first tiles of {x} rows")
    m, arena, root = chosen
    slots = {
        name: (arena.scratch_offsets[name], step_scratch)
        for name, step_scratch in ((op.name, scratch_bytes(m, op, scratch)) for op in m.ops)
        if name in arena.scratch_offsets
    }
    places = _places(m, arena, root)
    for op in m.ops:  # the output step's scratch was planned as a buffer
        tmp = f"{op.name}__scratch"
        if tmp in arena.offsets:
            slots[op.name] = (arena.offsets[tmp], arena.sizes[tmp])
    text = budget_text or ("no board limit" if budget is None else f"budget {budget} bytes")
    return ModelPlan(
        m, arena, places, slots, budget, text, tuple(notes), scratch.kernels, scratch.source
    )


def _largest_fitting(attempt, fits, seq: int) -> int | None:
    """The largest tile size whose plan fits (binary search: the arena grows with x)."""
    if not fits(attempt(1)[1]):
        return None
    lo, hi = 1, seq
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(attempt(mid)[1]):
            lo = mid
        else:
            hi = mid - 1
    return lo
