"""The weights storage choice (tinytx.core.plan.sparse) on synthetic int8 weights: a dense
layer stays dense, 90 % unstructured pruning picks UNSTRUCTURED, 75 % 1x4-block pruning
picks BLOCK4, all-zero rows and matrices encode, the kernels' entry limit falls back to
dense with a note, and the forced modes."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import numpy as np
import pytest

from tinytx.core import ir
from tinytx.core.codegen.project import load_model
from tinytx.core.errors import UserInputError
from tinytx.core.plan.costs import PROVISIONAL_SPARSE, SparseDims, sparse_table_for
from tinytx.core.plan.sparse import (
    FORMATS,
    choose_sparse,
    entry_count,
    matrix,
    stored_bytes,
)
from tinytx.core.sparse_weights import SparseFormat, decode, encode

ROOT = Path(__file__).resolve().parents[2]
RADAR = ROOT / "samples" / "radar" / "model" / "model.onnx"
LAYER = "linear0"  # radar: W [32][256] on 16 tokens
LIMIT = 65535


@pytest.fixture(scope="module")
def radar() -> ir.Model:
    return load_model(RADAR)


def dense_weights(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    w = rng.integers(1, 128, shape) * rng.choice([-1, 1], shape)
    return w.astype(np.int8)


def unstructured(rng: np.random.Generator, shape: tuple[int, ...], zeros: float) -> np.ndarray:
    w = dense_weights(rng, shape)
    w[rng.random(shape) < zeros] = 0
    return w


def blocks(rng: np.random.Generator, shape: tuple[int, int], zeros: float) -> np.ndarray:
    """Whole 1x4 blocks along the columns zeroed (the rest nonzero)."""
    w = dense_weights(rng, shape)
    keep = rng.random((shape[0], shape[1] // 4)) >= zeros
    return (w.reshape(shape[0], -1, 4) * keep[:, :, None]).reshape(shape).astype(np.int8)


def with_weight(model: ir.Model, name: str, w: np.ndarray) -> ir.Model:
    ops = tuple(dataclasses.replace(op, weight=w) if op.name == name else op for op in model.ops)
    return dataclasses.replace(model, ops=ops)


def only_sparse(model: ir.Model, kernels: str = "ref", mode: str = "auto", limit=LIMIT):
    """The storage of every layer, every other layer than LAYER made dense first."""
    rng = np.random.default_rng(1)
    for op in model.ops:
        if op.name != LAYER and hasattr(op, "weight"):
            model = with_weight(model, op.name, dense_weights(rng, op.weight.shape))
    return choose_sparse(model, sparse_table_for(None, kernels), limit, mode, kernels)


@pytest.mark.parametrize("fmt", list(SparseFormat))
@pytest.mark.parametrize("zeros", [0.0, 0.5, 0.9, 0.995, 1.0])
def test_entry_count_is_what_encode_stores(fmt: SparseFormat, zeros: float) -> None:
    rng = np.random.default_rng(int(zeros * 1000) + int(fmt))
    for shape in ((7, 1030), (3, 5), (16, 2000)):  # long rows: zero bridges
        w = unstructured(rng, shape, zeros)
        enc = encode(w, fmt)
        assert entry_count(w, fmt) == enc.entries
        assert stored_bytes(w.shape[0], enc.entries, fmt) >= enc.nbytes
        np.testing.assert_array_equal(decode(enc), w)


@pytest.mark.parametrize("kernels", ["ref", "arm"])
def test_dense_layer_stays_dense(radar: ir.Model, kernels: str) -> None:
    plan = only_sparse(radar, kernels)
    assert plan.sparse_layers == ()
    assert plan.saved_bytes == 0
    assert plan.lines() == []  # a dense model's plan says nothing about storage
    layer = plan.of(LAYER)
    assert layer is not None and layer.format == "dense"


@pytest.mark.parametrize("kernels", ["ref"])
def test_90_percent_unstructured_picks_unstructured(radar: ir.Model, kernels: str) -> None:
    rng = np.random.default_rng(2)
    w = unstructured(rng, (32, 256), 0.9)
    plan = only_sparse(with_weight(radar, LAYER, w), kernels)
    layer = plan.of(LAYER)
    assert layer is not None and layer.format == "unstructured", layer.describe()
    assert layer.weights is not None
    np.testing.assert_array_equal(decode(layer.weights), w)
    assert layer.chosen.bytes < w.size and layer.saved_bytes == w.size - layer.chosen.bytes
    assert layer.chosen.instructions <= layer.dense.instructions
    assert [x.layer for x in plan.sparse_layers] == [LAYER]
    text = "\n".join(plan.lines())
    assert f"{LAYER}: sparse unstructured: {layer.chosen.bytes:,} of 8,192 bytes, est." in text
    assert "conv0: dense (" in text


@pytest.mark.parametrize("kernels", ["ref"])
def test_75_percent_blocks_picks_block4(radar: ir.Model, kernels: str) -> None:
    rng = np.random.default_rng(3)
    w = blocks(rng, (32, 256), 0.75)
    plan = only_sparse(with_weight(radar, LAYER, w), kernels)
    layer = plan.of(LAYER)
    assert layer is not None and layer.format == "block4", layer.describe()
    assert layer.weights is not None and layer.weights.format == SparseFormat.BLOCK4
    np.testing.assert_array_equal(decode(layer.weights), w)


@pytest.mark.parametrize("zeros", [0.9, 0.99])
def test_arm_choice_follows_the_rule(radar: ir.Model, zeros: float) -> None:
    """The arm kernels' dense layers are fast (DSP): a sparse format must beat them. The
    choice is the rule applied to the table's prices, and a 99 % pruned layer pays."""
    rng = np.random.default_rng(7)
    w = unstructured(rng, (32, 256), zeros)
    layer = only_sparse(with_weight(radar, LAYER, w), "arm").of(LAYER)
    assert layer is not None
    d, m = layer.dense, sparse_table_for(None, "arm").margin
    pays = [
        c
        for c in layer.candidates
        if c.bytes < d.bytes and c.instructions * (1 + m) <= d.instructions * (1 - m)
    ]
    if pays:
        assert layer.chosen == min(pays, key=lambda c: (c.instructions, c.bytes))
    else:
        assert not layer.sparse and layer.reason.startswith(
            ("sparse would be slower", "sparse may be slower")
        )
    if zeros == 0.99:
        assert layer.sparse


def test_all_zero_rows_and_matrix(radar: ir.Model) -> None:
    rng = np.random.default_rng(4)
    w = unstructured(rng, (32, 256), 0.95)
    w[::3] = 0  # every third output feature: bias only
    plan = only_sparse(with_weight(radar, LAYER, w))
    layer = plan.of(LAYER)
    assert layer is not None and layer.sparse
    assert layer.weights is not None
    assert np.all(np.diff(layer.weights.row_ptr.astype(int))[::3] == 0)
    np.testing.assert_array_equal(decode(layer.weights), w)
    zero = np.zeros((32, 256), np.int8)
    plan = only_sparse(with_weight(radar, LAYER, zero))
    layer = plan.of(LAYER)
    assert layer is not None and layer.sparse and layer.chosen.entries == 0
    assert layer.weights is not None
    np.testing.assert_array_equal(decode(layer.weights), zero)


def test_entry_limit_falls_back_to_dense_with_a_note(radar: ir.Model) -> None:
    rng = np.random.default_rng(5)
    w = unstructured(rng, (32, 256), 0.9)
    m = with_weight(radar, LAYER, w)
    n = entry_count(w, SparseFormat.UNSTRUCTURED)
    nb = entry_count(w, SparseFormat.BLOCK4)
    plan = only_sparse(m, limit=min(n, nb) - 1)
    layer = plan.of(LAYER)
    assert layer is not None and not layer.sparse
    assert layer.reason == "sparse entries over the kernels' limit"
    assert any(
        note.startswith(f"{LAYER}: sparse unstructured, block4 not possible")
        and "TINYTX_SPARSE_MAX_ENTRIES" in note
        and note.endswith("; dense")
        for note in plan.notes
    ), plan.notes
    # a limit between the two counts: only the format that fits is a candidate
    if nb < n:
        plan = only_sparse(m, limit=nb)
        assert plan.of(LAYER).format in ("dense", "block4")  # type: ignore[union-attr]


def test_forced_and_off_modes(radar: ir.Model) -> None:
    rng = np.random.default_rng(6)
    w = unstructured(rng, (32, 256), 0.9)
    m = with_weight(radar, LAYER, w)
    forced = only_sparse(m, mode="block4")
    assert forced.of(LAYER).format == "block4"  # type: ignore[union-attr]
    # forced on every eligible layer, the dense ones too (the user asked for it)
    assert {x.format for x in forced.layers} == {"block4"}
    assert forced.lines()[0].startswith("weights storage (--sparse block4)")
    off = only_sparse(m, mode="off")
    assert off.layers == () and off.lines() == []
    with pytest.raises(UserInputError, match="--sparse: expected one of"):
        only_sparse(m, mode="dense")


def test_without_sparse_kernels_every_layer_is_dense(radar: ir.Model) -> None:
    plan = only_sparse(radar, limit=None)
    assert plan.layers == ()
    assert any("no sparse-weight kernels" in n for n in plan.notes)


def test_depthwise_and_attention_stay_dense() -> None:
    ecg = load_model(ROOT / "samples" / "ecg" / "model" / "model.onnx")
    plan = choose_sparse(ecg, sparse_table_for(None, "ref"), LIMIT)
    names = {x.layer for x in plan.layers}
    assert "dwconv0" not in names and "mhsa0" not in names
    assert {"conv0", "conv1", "linear0"} <= names


def test_conv_matrix_is_out_by_kernel_window() -> None:
    ecg = load_model(ROOT / "samples" / "ecg" / "model" / "model.onnx")
    conv = next(op for op in ecg.ops if op.name == "conv0")
    assert matrix(conv).shape == (8, 7)


def test_pricing_sources_are_labelled() -> None:
    """arm: the fitted sparse_costs.yaml table; ref (no fitted table): the provisional
    formulas, and the plan says which."""
    arm = sparse_table_for("cortex-m4", "arm")
    assert not arm.provisional and arm.key == "m4/arm" and arm.source == "sparse_costs.yaml"
    ref = sparse_table_for("cortex-m4", "ref")
    assert ref.provisional
    d = SparseDims(16, 32, 256)
    assert ref.instructions("dense", d) == sum(
        c * {"macs": 16 * 32 * 256, "outputs": 16 * 32, "one": 1}[k]
        for k, c in PROVISIONAL_SPARSE["dense"].items()
    )
    assert arm.instructions("dense", d) > 0
    assert set(FORMATS) == {"unstructured", "block4"}
    with pytest.raises(KeyError):
        ref.instructions("block8", d)


@pytest.mark.parametrize("kernels", ["ref", "arm", "riscv"])
def test_split_layout_holds_every_call_of_the_block(kernels: str) -> None:
    """The split block's scratch: Q, K, V^T, the probabilities, O, then one region that
    holds the larger of qk_softmax's and the sparse projections' C sizes."""
    from tinytx.core.plan.scratch import KernelScratch
    from tinytx.core.plan.sparse import split_layout

    ks = KernelScratch(kernels)
    s, e, h, p = 16, 32, 4, 8
    lay = split_layout("mhsa0", s, e, h, p, ks, frozenset({"mhsa0_v", "mhsa0_o"}))
    assert [lay[k][1] for k in ("q", "k", "vt", "a", "o")] == [512, 512, 512, 1024, 512]
    need = max(
        ks.qk_softmax(h, s, s, p),
        ks.linear_sparse(s, e, h * p, h, "TINYTX_LAYOUT_HEAD_MAJOR_T"),
        ks.linear_sparse(s, h * p, e, 1, "TINYTX_LAYOUT_TOKEN_MAJOR"),
    )
    assert lay["work"][1] == need
    ends = sorted((off, off + size) for k, (off, size) in lay.items() if k != "total")
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(ends))  # no overlap
    assert lay["total"][1] >= ends[-1][1] and all(off % 4 == 0 for off, _ in ends)
    dense = split_layout("mhsa0", s, e, h, p, ks, frozenset())
    assert dense["work"][1] == ks.qk_softmax(h, s, s, p)
