"""`tinytx bench --sparse`: dense vs sparse weights on the sample models' pruned layers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tinytx.cli import main
from tinytx.core.sparse_weights import SparseFormat, decode, encode
from tinytx.toolchain.bench import budget as bud
from tinytx.toolchain.bench import sparse as sp


@pytest.mark.parametrize("fmt", list(SparseFormat))
@pytest.mark.parametrize("sparsity", [0.5, 0.75, 0.9])
def test_prune_zeroes_the_share_of_every_row(fmt: SparseFormat, sparsity: float) -> None:
    rng = np.random.default_rng(1)
    w = rng.integers(-128, 128, (7, 37)).astype(np.int8)
    w[w == 0] = 1
    pruned = sp.prune(w, fmt, sparsity)
    positions = -(-37 // int(fmt))
    sw = encode(pruned, fmt)
    assert np.array_equal(decode(sw), pruned)
    kept = positions - round(sparsity * positions)
    assert sw.entries == 7 * kept  # no bridges: 37 columns
    assert np.all((pruned == 0) | (pruned == w))


def test_every_layer_has_a_shape_and_a_budget() -> None:
    data = bud.load_budgets(bud.default_budget_file())
    for target in ("m4", "m7"):
        layers = data["sparse"][target]["arm"]
        assert set(layers) == {layer.name for layer in sp.SPARSE_LAYERS}
        for entries in layers.values():
            for p in ("dense", *(p.name for p in sp.PATTERNS)):
                assert isinstance(entries[p], int) and entries[p] > 0
            for p, goal in sp.MIN_RATIOS.items():
                assert 0 < entries[sp.RATIO_KEY + p] <= goal


@pytest.mark.firmware
def test_sparse_bench_passes_its_budgets(build_root: Path, tmp_path: Path) -> None:
    """The committed counts and ratio floors hold; every linear layer reaches the goal
    ratios, and pruned weights take less flash."""
    out = tmp_path / "sparse.json"
    args = ["bench", "--sparse", "--check-budget", "--json", str(out)]
    assert main([*args, "--build-dir", str(build_root)]) == 0
    layers = {e["layer"]: e for e in json.loads(out.read_text())["layers"]}
    for name in (layer.name for layer in sp.SPARSE_LAYERS if layer.kind == "linear"):
        assert layers[name]["block4_75"]["ratio"] >= 2.5
        assert layers[name]["unstructured_90"]["ratio"] >= 2.0
    for e in layers.values():
        dense = e["dense"]["weight_bytes"]
        assert e["block4_75"]["weight_bytes"] <= 0.41 * dense
        assert e["unstructured_90"]["weight_bytes"] <= 0.36 * dense


def test_sparse_rejects_mhsa_options() -> None:
    assert main(["bench", "--sparse", "--shape", "A"]) != 0
