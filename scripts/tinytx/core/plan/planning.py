"""Planning an IR model: the MHSA variant of each attention block and the arena.

:func:`plan_model` decides, for the :class:`~tinytx.core.ir.Mhsa` ops, the schedule with
:func:`tinytx.core.plan.choose.choose_schedule`, the chooser ``tinytx plan <shape>`` uses too:
the fastest (by the cost formulas of :mod:`tinytx.core.plan.costs`) of layer-wise
(``tinytx_mhsa_s8``) and depth-first tiles of every size (``tinytx_mhsa_dft_s8``), with
or without fused weights (FWSA, where :func:`tinytx.core.plan.fwsa.decide_fwsa` allows them and
calibration inputs are given), whose whole-model arena fits the board's RAM budget.
The arena comes from :func:`tinytx.core.plan.arena.plan_arena` on a schedule built
from the IR: one step per kernel call, views share their input's buffer, the model input
and output live in the caller's buffers (``run(in, out, arena)``), not in the arena.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from tinytx.core import ir
from tinytx.core.errors import TinytxError
from tinytx.core.plan import ArenaPlan, Buffer, Schedule, Step, plan_arena
from tinytx.core.plan.choose import Choice, attention_inplace, choose_schedule
from tinytx.core.plan.costs import sparse_table_for, table_for
from tinytx.core.plan.fwsa import decide_fwsa, fuse_mhsa
from tinytx.core.plan.scratch import ConvGeometry, KernelScratch
from tinytx.core.plan.sparse import SparsePlan, choose_sparse, sparse_limit, split_layout
from tinytx.core.workloads import MhsaShape

ALIGN = 4
MHSA_MODES = ("auto", "layerwise", "dft")


class PlanError(TinytxError):
    """A model cannot be planned as asked (e.g. FWSA forced without calibration data)."""


def mhsa_shape(model: ir.Model, op: ir.Mhsa) -> MhsaShape:
    s, e = model.tensors[op.inputs[0]].shape
    return MhsaShape(s, e, op.heads, op.head_dim)


def scratch_bytes(model: ir.Model, op: ir.Op, scratch: KernelScratch) -> int:
    """Scratch bytes of one op's kernel call: the C size of its kernel
    (:class:`tinytx.core.plan.scratch.KernelScratch`) for the planned variant and cores."""
    if isinstance(op, ir.Conv2d) and not isinstance(op, ir.DepthwiseConv2d):
        _, kh, kw, cin = op.weight.shape
        _, ih, iw, _ = model.tensors[op.inputs[0]].shape
        _, oh, ow, oc = model.tensors[op.output].shape
        geo = ConvGeometry(
            ih, iw, cin, oh, ow, oc, kh, kw, tuple(op.stride), tuple(op.pad), tuple(op.dilation)
        )
        return scratch.conv2d(geo, op.name)
    if isinstance(op, ir.Linear):
        n, k = op.weight.shape
        return scratch.linear(model.tensors[op.output].size // n, k, n, op.name)
    if not isinstance(op, ir.Mhsa):
        return 0
    if op.name in scratch.sparse:  # split into separate calls (sparse projections)
        sh = mhsa_shape(model, op)
        layout = split_layout(op.name, sh.seq_len, sh.embed_dim, sh.heads, sh.head_dim,
                              scratch, scratch.sparse)  # fmt: skip
        return layout["total"][1]
    tile = op.tile if op.variant == "dft" else None
    return scratch.attention(mhsa_shape(model, op), tile, op.fwsa is not None)


def inplace_pairs(op: ir.Op, kernels: str = "ref") -> tuple[tuple[str, str], ...]:
    """(input, output) pairs the kernel allows to share memory."""
    if isinstance(op, (ir.Add, ir.Mul)):
        return tuple((i, op.output) for i in op.inputs)
    if isinstance(op, (ir.Gelu, ir.Lut)):
        return ((op.inputs[0], op.output),)
    if isinstance(op, ir.Mhsa) and attention_inplace(
        kernels, op.variant == "dft", op.fwsa is not None
    ):
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
    cores: int = 1  # the cores the kernels run on, whose scratch sizes were planned
    choice: Choice | None = None  # the attention schedule's choice (None: no attention)
    calibration: str | None = None  # the FWSA calibration inputs, as the plan names them
    sparse: SparsePlan | None = None  # each layer's weights storage (None: all dense)

    @property
    def arena_bytes(self) -> int:
        return self.arena.arena_bytes

    @property
    def weight_bytes(self) -> int:
        """Flash bytes of the weights as stored (sparse layers by their arrays)."""
        saved = self.sparse.saved_bytes if self.sparse is not None else 0
        return self.model.weight_bytes - saved

    @property
    def fits(self) -> bool:
        return self.budget is None or self.arena_bytes <= self.budget

    def describe(self) -> list[str]:
        """One line per decision, for the CLI and the generated header."""
        lines = self.decisions()
        lines += list(self.notes)
        if self.sparse is not None:
            lines += self.sparse.lines()
        fused = any(isinstance(op, ir.Mhsa) and op.fwsa is not None for op in self.model.ops)
        if self.calibration and not fused:
            lines.append(f"FWSA calibration inputs: {self.calibration} (no block fused)")
        lines.append(f"arena: {self.arena_bytes} bytes ({self.budget_text})")
        lines.append(f"cores: {self.cores} (the firmware's tinytx_parallel_num_cores())")
        lines.append(f"scratch sizes: {self.scratch_source}")
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
                fw = "FWSA no"
                split = self.sparse.split_blocks if self.sparse is not None else frozenset()
                if op.name in split:
                    how = "split into layer-wise calls (sparse projections)"
                if op.fwsa is not None:
                    src = f"; calibration: {self.calibration}" if self.calibration else ""
                    fw = f"FWSA yes (fused Q/K weights{src})"
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


def _plan_with(model: ir.Model, scratch: KernelScratch) -> tuple[ArenaPlan, dict[str, str]]:
    schedule, root = build_schedule(model, scratch, scratch.kernels)
    return plan_arena(schedule, ALIGN), root


def _plan_arena(
    model: ir.Model, scratch: KernelScratch
) -> tuple[ArenaPlan, dict[str, str], KernelScratch]:
    """The arena, each tensor's buffer and the scratch sizes planned. A linear layer's
    scratch only speeds it up (without it the call is ``tinytx_linear_s8``): a layer
    keeps it only when it does not make the arena larger than with none at all."""
    arena, root = _plan_with(model, scratch)
    optional = frozenset(
        op.name
        for op in model.ops
        if isinstance(op, ir.Linear)
        and op.name not in scratch.sparse
        and scratch_bytes(model, op, scratch) > 0
    )
    if not optional:
        return arena, root, scratch
    lean = scratch.without_linear(optional)
    floor, lean_root = _plan_with(model, lean)
    if arena.arena_bytes <= floor.arena_bytes:
        return arena, root, scratch
    keep: set[str] = set()
    for op in model.ops:  # one layer at a time, in schedule order
        if op.name in optional:
            trial = scratch.without_linear(optional - keep - {op.name})
            if _plan_with(model, trial)[0].arena_bytes <= floor.arena_bytes:
                keep.add(op.name)
    if not keep:
        return floor, lean_root, lean
    used = scratch.without_linear(optional - keep)
    arena, root = _plan_with(model, used)
    return arena, root, used


def mhsa_inputs(model: ir.Model, calibration: np.ndarray) -> dict[str, np.ndarray]:
    """The int8 input rows of every MHSA op over calibration inputs (firmware bytes)."""
    from tinytx.core.executor import trace

    rows: dict[str, list[np.ndarray]] = {}
    for x in calibration:
        values = trace(model, x)
        for op in model.ops:
            if isinstance(op, ir.Mhsa):
                rows.setdefault(op.name, []).append(values[op.inputs[0]])
    return {k: np.concatenate(v) for k, v in rows.items()}


def _fwsa_forms(
    model: ir.Model, mode: str, calibration: np.ndarray | None
) -> tuple[dict[str, ir.FwsaForm], dict[str, str], list[str]]:
    """The fused form of every op that may use one (mode and shape allow it, calibration
    inputs quantize it), the reason of each, and notes for the others."""
    notes: list[str] = []
    forms: dict[str, ir.FwsaForm] = {}
    reasons: dict[str, str] = {}
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
                "inputs to quantize it, give --calibration or put calibration.npz next to "
                "the model)"
            )
            continue
        if calib_rows is None:
            calib_rows = mhsa_inputs(model, calibration)
        try:
            w, q = fuse_mhsa(op.weights, op.quant, op.heads, calib_rows[op.name])
        except ValueError as exc:
            raise PlanError(f"{op.name}: FWSA fusion failed: {exc}") from None
        forms[op.name] = ir.FwsaForm(w, q)
        reasons[op.name] = decision.reason
    return forms, reasons, notes


def _with_fwsa(model: ir.Model, forms: dict[str, ir.FwsaForm]) -> ir.Model:
    ops = tuple(
        dataclasses.replace(op, fwsa=forms[op.name]) if op.name in forms else op for op in model.ops
    )
    return dataclasses.replace(model, ops=ops)


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
    cpu: str | None = None,
    sparse: str = "auto",
    split_attention: bool = True,
) -> ModelPlan:
    """Choose the MHSA variants and plan the arena (see the module docstring).

    ``budget``: RAM bytes for the arena (None: no limit, layer-wise everywhere unless
    ``mhsa``/``tile`` say otherwise). ``mhsa``: ``auto``, ``layerwise`` or ``dft``;
    ``tile``: force this many query rows per DFT tile. ``fwsa``: ``auto``/``on``/``off``
    (``calibration``: int8 firmware inputs ``[B][bytes]`` for the fused projection).
    ``kernels``: the variant whose scratch sizes are planned (ref, arm, riscv), from
    ``scratch`` (default: that variant's C sizes on one core; give a
    :class:`~tinytx.core.plan.scratch.KernelScratch` with the firmware's cores). ``cpu``: the
    core the schedules are priced for (:func:`tinytx.core.plan.costs.table_for`; None: the
    Cortex-M4). ``sparse``: the weights storage of linear and conv2d layers
    (:func:`tinytx.core.plan.sparse.choose_sparse`: ``auto``, ``off``, ``block4``,
    ``unstructured``); sparse layers are planned with their kernels' scratch.
    """
    scratch = scratch or KernelScratch(kernels)
    if scratch.kernels != kernels:
        raise ValueError(f"scratch sizes of the {scratch.kernels!r} kernels, not {kernels!r}")
    if mhsa not in MHSA_MODES:
        raise PlanError(f"--mhsa: expected one of {', '.join(MHSA_MODES)}, got {mhsa!r}")
    forms, fuse_reasons, notes = _fwsa_forms(model, fwsa, calibration)
    notes += [
        f"{op.name}: TFLite's attention steps, layer-wise (bit for bit with the interpreter; "
        "the DFT and FWSA schedules take an IR MHSA block, not this form)"
        for op in model.ops
        if isinstance(op, ir.AttentionSteps)
    ]
    limit = sparse_limit(scratch) if sparse != "off" else None
    splittable = frozenset(
        op.name
        for op in model.ops
        if split_attention and isinstance(op, ir.Mhsa) and op.name not in forms
    )
    storage = choose_sparse(
        model, sparse_table_for(cpu, kernels), limit, sparse, kernels, splittable
    )
    split = storage.split_blocks
    scratch = scratch.with_sparse(storage.names | split)
    fused_model = _with_fwsa(model, forms)
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
        return {
            op.name: ("layerwise", 0) if op.name in split else ("dft", min(x, s_of[op.name]))
            for op in blocks
        }

    Attempt = tuple[ir.Model, ArenaPlan, dict[str, str], KernelScratch]
    attempts: dict[tuple[int | None, bool], Attempt] = {}

    def attempt(x: int | None, fused: bool = False) -> Attempt:
        if (x, fused) not in attempts:
            m = _with_variants(fused_model if fused else model, variants(x))
            attempts[(x, fused)] = (m, *_plan_arena(m, scratch))
        return attempts[(x, fused)]

    choice = None
    if not blocks:
        chosen = attempt(None)
    else:
        table = table_for(cpu, kernels)

        def price(schedule: str, x: int | None, fused: bool) -> float:
            total = 0.0
            for op in blocks:
                sh = mhsa_shape(model, op)
                t = None if schedule == "layerwise" else min(x or 1, sh.seq_len)
                total += table.instructions(sh, fused and op.name in forms, t)
            return total

        options = (True,) if forms and fwsa == "on" else (False, True) if forms else (False,)
        choice = choose_schedule(
            seq,
            lambda schedule, x, fused: (
                attempt(x if schedule == "dft" else None, fused)[1].arena_bytes
            ),
            price,
            budget,
            options,
            mhsa,
            tile,
            pricing=f"{table.key} cost formulas" + (f"; {table.note}" if table.note else ""),
        )
        c = choice.chosen
        chosen = attempt(c.tile if c.schedule == "dft" else None, c.fused)
        for name, reason in fuse_reasons.items():
            if c.fused:
                notes.append(f"{name}: FWSA yes ({reason})")
            else:
                notes.append(f"{name}: FWSA no (would fuse: {reason}; the unfused schedule is "
                             "faster)")  # fmt: skip
        notes.append(f"schedule: {c.describe()}: {choice.reason} ({choice.pricing})")
        if not choice.fits:
            notes.append("no MHSA schedule fits the RAM budget")
    if split and budget is not None and chosen[1].arena_bytes > budget:
        dense = plan_model(
            model, budget, budget_text, mhsa, tile, fwsa, calibration, kernels,
            scratch.with_sparse(frozenset()), cpu, sparse, split_attention=False,
        )  # fmt: skip
        if dense.arena_bytes < chosen[1].arena_bytes:  # the fused blocks need less RAM
            note = (f"attention blocks {', '.join(sorted(split))}: fused (dense projections):"
                    f" split into separate calls they need {chosen[1].arena_bytes} bytes of "
                    "arena, more than the RAM budget")  # fmt: skip
            return dataclasses.replace(dense, notes=(*dense.notes, note))
    m, arena, root, used = chosen
    slots = {
        name: (arena.scratch_offsets[name], step_scratch)
        for name, step_scratch in ((op.name, scratch_bytes(m, op, used)) for op in m.ops)
        if name in arena.scratch_offsets
    }
    places = _places(m, arena, root)
    for op in m.ops:  # the output step's scratch was planned as a buffer
        tmp = f"{op.name}__scratch"
        if tmp in arena.offsets:
            slots[op.name] = (arena.offsets[tmp], arena.sizes[tmp])
    text = budget_text or ("no board limit" if budget is None else f"budget {budget} bytes")
    return ModelPlan(
        m, arena, places, slots, budget, text, tuple(notes), scratch.kernels, scratch.source,
        scratch.cores, choice, sparse=storage,
    )  # fmt: skip
