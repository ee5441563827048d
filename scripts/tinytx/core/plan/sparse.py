"""The storage of each layer's int8 weights: dense, or sparse (``tinytx_sparse_weights``).

A pruned model converts with no extra flag: for every linear layer and every (not
depthwise) convolution, :func:`choose_sparse` counts the entries W would take in each
sparse format of :mod:`tinytx.core.sparse_weights` (``UNSTRUCTURED`` single values,
``BLOCK4`` 1 x 4 blocks along the reduction axis, zero bridges included), prices the
layer dense and in each format with the instruction formulas of
:func:`tinytx.core.plan.costs.sparse_table_for`, and computes the flash bytes of each
(every array 4-byte aligned). The rule (``--sparse auto``, the default):

    a sparse format is a candidate when it takes fewer flash bytes than the dense
    weights AND it is not slower even if both formulas err by their margin ``m`` (the
    cost table's stated relative error) the wrong way: ``sparse (1 + m) <= dense
    (1 - m)``; the layer takes the candidate with the fewest instructions (ties: fewer
    bytes), and stays dense when there is none.

So a layer goes sparse only where it saves flash without costing time. ``--sparse
block4`` / ``unstructured`` force that format on every such layer, ``off`` keeps all
dense. A format whose entries exceed the kernels' ``TINYTX_SPARSE_MAX_ENTRIES`` (the C
header's limit, through :mod:`tinytx.core.kernel_abi`) is not a candidate, and the plan
says so. Sparse is storage only: the IR keeps the dense weights, the golden model
computes with them, and the kernels are bit-exact with it on the decoded matrix.
Attention blocks: the fused kernels (``tinytx_mhsa_s8`` ...) take dense weights. A
layer-wise block without fused weights may instead run as the separate calls the
reference block is made of (Q, K, V^T projections in head-major layouts,
``tinytx_qk_softmax_s8``, ``tinytx_av_s8``, the output projection: :func:`split_layout`),
so its four projections (``<block>_q``, ``_k``, ``_v``, ``_o``) are priced like linear
layers; a block with any sparse projection is *split*. With ``--sparse auto`` only the
``ref`` kernels split a block (their fused block is these very calls, so the split costs
exactly the projections' difference); the forced formats split blocks on every variant.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tinytx.core import ir
from tinytx.core.errors import UserInputError
from tinytx.core.plan.costs import SparseCostTable, SparseDims
from tinytx.core.plan.scratch import KernelScratch
from tinytx.core.sparse_weights import MAX_GAP, SparseFormat, SparseWeights, encode

MODES = ("auto", "off", "block4", "unstructured")
SLOWER = "sparse would be slower"
MAYBE_SLOWER = "sparse may be slower"
FORMATS = {"unstructured": SparseFormat.UNSTRUCTURED, "block4": SparseFormat.BLOCK4}
ALIGN = 4


def _aligned(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


def matrix(op: ir.Op) -> np.ndarray:
    """The layer's W as the sparse kernels read it: linear ``[out][in]``, conv2d
    ``[out_c][kernel_h * kernel_w * in_c]`` (the dense weights' order)."""
    w = np.asarray(op.weight)  # type: ignore[attr-defined]
    return w.reshape(w.shape[0], -1)


def eligible(op: ir.Op) -> bool:
    """Layers that have a sparse-weight kernel: linear and (not depthwise, not dilated)
    conv2d."""
    return isinstance(op, ir.Linear) or (
        isinstance(op, ir.Conv2d)
        and not isinstance(op, ir.DepthwiseConv2d)
        and tuple(op.dilation) == (1, 1)
    )


#: An attention block's projections: (name suffix, MhsaWeights field, bias field).
PROJECTIONS = (("q", "wq", "bq"), ("k", "wk", "bk"), ("v", "wv", "bv"), ("o", "wo", "bo"))


def projection_names(block: str) -> dict[str, str]:
    """``{"q": "<block>_q", ...}``: the layer names of a block's projections."""
    return {p: f"{block}_{p}" for p, _, _ in PROJECTIONS}


def attention_matrices(op: ir.Mhsa) -> dict[str, np.ndarray]:
    """The block's projection weights by layer name (linear order ``[out][in]``)."""
    names = projection_names(op.name)
    return {names[p]: np.asarray(getattr(op.weights, f)) for p, f, _ in PROJECTIONS}


def split_layout(
    block: str,
    seq: int,
    embed: int,
    heads: int,
    head_dim: int,
    scratch: KernelScratch,
    sparse: frozenset[str],
) -> dict[str, tuple[int, int]]:
    """The scratch of a split attention block, part -> (offset, bytes), each part 4-byte
    aligned: Q [H][S][P], K [H][S][P], V^T [H][P][S], the probabilities A [H][S][S]
    (uint8), the head concat O [S][H*P], then one region for the qk_softmax score row and
    the sparse projections' scratch (never live at once; their sizes from the C).
    ``sparse``: the layers stored sparse (``<block>_q`` ...); ``total`` is the whole size."""
    s, e, h, p = seq, embed, heads, head_dim
    parts = {"q": h * s * p, "k": h * s * p, "vt": h * p * s, "a": h * s * s, "o": s * h * p}
    names = projection_names(block)
    layouts = {"q": "HEAD_MAJOR", "k": "HEAD_MAJOR", "v": "HEAD_MAJOR_T", "o": "TOKEN_MAJOR"}
    work = scratch.qk_softmax(h, s, s, p)
    for proj, layout in layouts.items():
        if names[proj] in sparse:
            k, n = (h * p, e) if proj == "o" else (e, h * p)
            hh = 1 if proj == "o" else h
            work = max(work, scratch.linear_sparse(s, k, n, hh, f"TINYTX_LAYOUT_{layout}"))
    parts["work"] = work
    out: dict[str, tuple[int, int]] = {}
    off = 0
    for name, size in parts.items():
        out[name] = (off, size)
        off += _aligned(size)
    out["total"] = (0, off)
    return out


def entry_count(w: np.ndarray, fmt: SparseFormat) -> int:
    """Entries of ``w`` in ``fmt`` with the zero bridges (what :func:`encode` stores),
    counted without building the arrays."""
    rows, cols = w.shape
    per = int(fmt)
    padded = np.zeros((rows, -(-cols // per) * per), np.int8)
    padded[:, :cols] = w
    nz = np.any(padded.reshape(rows, -1, per) != 0, axis=2)
    r, pos = np.nonzero(nz)
    if r.size == 0:
        return 0
    first = np.ones(r.size, bool)
    first[1:] = r[1:] != r[:-1]
    prev = np.where(first, 0, np.concatenate(([0], pos[:-1])))
    dist = pos - prev
    bridges = np.where(dist > 0, (dist - 1) // MAX_GAP, 0)
    return int(r.size + bridges.sum())


def stored_bytes(rows: int, entries: int, fmt: SparseFormat) -> int:
    """Flash bytes of row_ptr, gaps and values, each array 4-byte aligned (an empty
    array is emitted as one zero: C has no empty arrays)."""
    n = max(entries, 1)
    return _aligned(2 * (rows + 1)) + _aligned(n) + _aligned(n * int(fmt))


@dataclass(frozen=True)
class Priced:
    """One storage of a layer: its flash bytes and estimated instructions."""

    format: str  # "dense", "unstructured", "block4"
    entries: int
    bytes: int
    instructions: float
    over_limit: bool = False


@dataclass(frozen=True)
class LayerWeights:
    """The storage chosen for one layer's weights."""

    layer: str
    kind: str  # "linear" or "conv2d"
    rows: int
    cols: int
    chosen: Priced
    dense: Priced
    candidates: tuple[Priced, ...]  # the sparse formats priced
    reason: str
    weights: SparseWeights | None = field(default=None, compare=False)
    block: str = ""  # the attention block of a projection ("": a linear/conv2d layer)

    @property
    def format(self) -> str:
        return self.chosen.format

    @property
    def sparse(self) -> bool:
        return self.weights is not None

    @property
    def dense_bytes(self) -> int:
        return self.rows * self.cols

    @property
    def saved_bytes(self) -> int:
        """Flash bytes the storage saves against the dense weights (0: dense)."""
        return self.dense_bytes - self.chosen.bytes if self.sparse else 0

    def describe(self) -> str:
        """``fc1: sparse block4: 1,234 of 8,192 bytes, est. 10,000 instr vs 40,000``."""
        if not self.sparse:
            saving = [c for c in self.candidates if c.bytes < self.dense.bytes]
            if not saving or not self.reason.startswith((SLOWER, MAYBE_SLOWER)):
                return f"{self.layer}: dense ({self.reason})"
            c = min(saving, key=lambda c: c.instructions)
            return (
                f"{self.layer}: dense ({self.reason}: {c.format} {c.bytes:,} of "
                f"{self.dense_bytes:,} bytes, est. {c.instructions:,.0f} instr vs "
                f"{self.dense.instructions:,.0f})"
            )
        c = self.chosen
        return (
            f"{self.layer}: sparse {c.format}: {c.bytes:,} of {self.dense_bytes:,} bytes, "
            f"est. {c.instructions:,.0f} instr vs {self.dense.instructions:,.0f} "
            f"({self.reason})"
        )

    def as_json(self) -> dict:
        return {
            "layer": self.layer,
            "kind": self.kind,
            "format": self.format,
            "dense_bytes": self.dense_bytes,
            "stored_bytes": self.chosen.bytes if self.sparse else self.dense_bytes,
            "saved_bytes": self.saved_bytes,
            "entries": self.chosen.entries if self.sparse else None,
            "instructions": round(self.chosen.instructions),
            "dense_instructions": round(self.dense.instructions),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class SparsePlan:
    """Every eligible layer's storage, and how they were chosen."""

    mode: str
    layers: tuple[LayerWeights, ...]
    pricing: str
    notes: tuple[str, ...] = ()

    @property
    def sparse_layers(self) -> tuple[LayerWeights, ...]:
        return tuple(x for x in self.layers if x.sparse)

    @property
    def names(self) -> frozenset[str]:
        """The sparse layers (attention projections: ``<block>_q`` ...)."""
        return frozenset(x.layer for x in self.sparse_layers)

    @property
    def split_blocks(self) -> frozenset[str]:
        """Attention blocks run as separate calls (a projection of theirs is sparse)."""
        return frozenset(x.block for x in self.sparse_layers if x.block)

    @property
    def saved_bytes(self) -> int:
        return sum(x.saved_bytes for x in self.layers)

    @property
    def shown(self) -> bool:
        """Whether the plan lists the layers (see :meth:`lines`)."""
        return (
            bool(self.sparse_layers)
            or self.mode not in ("auto", "off")
            or any(c.bytes < x.dense.bytes for x in self.layers for c in x.candidates)
        )

    def of(self, layer: str) -> LayerWeights | None:
        return next((x for x in self.layers if x.layer == layer), None)

    def weights(self, layer: str) -> SparseWeights | None:
        x = self.of(layer)
        return None if x is None else x.weights

    def lines(self) -> list[str]:
        """The plan's lines: every eligible layer once any is sparse, any could save
        flash (a pruned model) or the mode is forced, else none (a dense model's plan is
        unchanged); the notes always."""
        out: list[str] = []
        if self.shown:
            n = len(self.sparse_layers)
            out.append(
                f"weights storage (--sparse {self.mode}): {n} of {len(self.layers)} layers "
                f"sparse, {self.saved_bytes:,} bytes of flash saved ({self.pricing})"
            )
            out += [f"  {x.describe()}" for x in self.layers]
        out += list(self.notes)
        return out

    def as_json(self) -> dict:
        return {
            "mode": self.mode,
            "pricing": self.pricing,
            "saved_bytes": self.saved_bytes,
            "layers": [x.as_json() for x in self.layers],
            "notes": list(self.notes),
        }


def _calls(model: ir.Model, op: ir.Op) -> tuple[int, int]:
    """(kernel calls, output positions per call and W row): a linear layer is one call on
    all its rows; a convolution one call per image of out_h x out_w positions (the
    per-call work, e.g. the sparse kernels' row table, is priced once per call)."""
    out = model.tensors[op.output]
    per_row = out.size // int(np.asarray(op.weight).shape[0])  # type: ignore[attr-defined]
    if isinstance(op, ir.Conv2d):
        images = int(out.shape[0])
        return images, per_row // images
    return 1, per_row


def not_slower(sparse: float, dense: float, margin: float) -> bool:
    """Whether a sparse layer is not slower than dense even when both formulas err by up to
    ``margin`` (relative) the wrong way: ``sparse (1 + m) <= dense (1 - m)``."""
    return sparse * (1 + margin) <= dense * (1 - margin)


def _choose(
    x_dense: Priced, cands: list[Priced], mode: str, margin: float = 0.0
) -> tuple[Priced | None, str]:
    if mode in FORMATS:
        forced = next(c for c in cands if c.format == mode)
        if forced.over_limit:
            return None, f"--sparse {mode}: {forced.entries:,} entries over the kernels' limit"
        return forced, f"--sparse {mode}"
    ok = [c for c in cands if not c.over_limit]
    saving = [c for c in ok if c.bytes < x_dense.bytes]
    pays = [c for c in saving if not_slower(c.instructions, x_dense.instructions, margin)]
    if pays:
        best = min(pays, key=lambda c: (c.instructions, c.bytes))
        return best, "saves flash, not slower"
    if not ok:
        return None, "sparse entries over the kernels' limit"
    if not saving:
        return None, "sparse saves no flash"
    if any(c.instructions <= x_dense.instructions for c in saving):
        return None, f"{MAYBE_SLOWER}: not faster beyond the formulas' {margin:.0%} margin"
    return None, SLOWER


def sparse_limit(scratch: KernelScratch) -> int | None:
    """The kernels' ``TINYTX_SPARSE_MAX_ENTRIES``; None when the variant's C has no
    sparse-weight kernels."""
    if not scratch.has_sparse:
        return None
    return scratch.abi.constant("TINYTX_SPARSE_MAX_ENTRIES")


def choose_sparse(
    model: ir.Model,
    table: SparseCostTable,
    limit: int | None,
    mode: str = "auto",
    kernels: str = "ref",
    blocks: frozenset[str] = frozenset(),
) -> SparsePlan:
    """The storage of every eligible layer (see the module docstring); ``limit``: the
    kernels' entry limit (:func:`sparse_limit`; None: no sparse kernels, all dense);
    ``blocks``: the attention blocks that may be split (layer-wise, not fused)."""
    if mode not in MODES:
        raise UserInputError(f"--sparse: expected one of {', '.join(MODES)}, got {mode!r}")
    pricing = (
        f"{table.key} provisional sparse cost formulas"
        if table.provisional
        else f"{table.key} sparse cost formulas ({table.source})"
    )
    layers_ops = [op for op in model.ops if eligible(op)]
    split = [
        op
        for op in model.ops
        if isinstance(op, ir.Mhsa) and op.name in blocks and (mode in FORMATS or kernels == "ref")
    ]
    if mode == "off" or not (layers_ops or split):
        return SparsePlan(mode, (), pricing)
    notes: list[str] = []
    if limit is None:
        notes.append(
            f"sparse weights: the '{kernels}' kernels have no sparse-weight kernels "
            "(tinytx_linear_sparse_s8); every layer is dense"
        )
        return SparsePlan(mode, (), pricing, tuple(notes))
    layers: list[LayerWeights] = []
    # name, kind, W, (calls, tokens per call), block
    todo: list[tuple[str, str, np.ndarray, tuple[int, int], str]] = []
    for op in model.ops:
        if any(op is x for x in layers_ops):
            kind = "linear" if isinstance(op, ir.Linear) else "conv2d"
            todo.append((op.name, kind, matrix(op), _calls(model, op), ""))
        elif any(op is x for x in split):
            seq = model.tensors[op.inputs[0]].shape[0]
            for name, w in attention_matrices(op).items():  # type: ignore[arg-type]
                todo.append((name, "attention", w, (1, seq), op.name))
    windows = {  # convolutions: (kernel rows, bytes of a kernel row, input channels)
        op.name: (
            int(op.weight.shape[1]),
            int(op.weight.shape[2] * op.weight.shape[3]),
            int(op.weight.shape[3]),
        )
        for op in layers_ops
        if isinstance(op, ir.Conv2d)
    }
    for name, kind, w, (calls, tokens), block in todo:
        rows, cols = w.shape
        conv = kind == "conv2d"
        kh, krow, cin = windows.get(name, (1, 0, 0))
        dense_dims = SparseDims(tokens, rows, cols, 0, conv, kh, krow, cin)
        dense = Priced(
            "dense", 0, _aligned(rows * cols), calls * table.instructions("dense", dense_dims)
        )
        cands = []
        for fname, fmt in FORMATS.items():
            n = entry_count(w, fmt)
            dims = SparseDims(tokens, rows, cols, n, conv, kh, krow, cin)
            price = calls * table.instructions(fname, dims)
            cands.append(Priced(fname, n, stored_bytes(rows, n, fmt), price, n > limit))
        chosen, reason = _choose(dense, cands, mode, table.margin)
        over = [c.format for c in cands if c.over_limit]
        if over:
            notes.append(
                f"{name}: sparse {', '.join(over)} not possible: more entries than the "
                f"kernels' TINYTX_SPARSE_MAX_ENTRIES ({limit:,})"
                + ("; dense" if chosen is None else "")
            )
        stored = None
        if chosen is not None:
            stored = encode(w, FORMATS[chosen.format], limit)
            if stored.entries != chosen.entries:  # the count priced is what is stored
                raise AssertionError(f"{name}: {stored.entries} stored, {chosen.entries} priced")
        layers.append(
            LayerWeights(
                name, kind, rows, cols, chosen or dense, dense, tuple(cands), reason, stored, block
            )
        )
    plan = SparsePlan(mode, tuple(layers), pricing, tuple(notes))
    if table.provisional and plan.shown:
        notes.append(
            "sparse weights: priced with PROVISIONAL formulas (estimates, not yet fitted to "
            "measured instructions)"
        )
    return SparsePlan(mode, tuple(layers), pricing, tuple(notes))
