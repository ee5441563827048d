"""FWSA on Cortex-M4, exact instructions (unicorn, bench ELF, checked against the golden
model): the fused path halves the projections that feed the scores, and the whole
attention-score part (projections + QK^T + softmax) gains what its operation count
allows: at best (2E + S) / (E + S) when P == E."""

from __future__ import annotations

import pytest

from tinytx.core.workloads import SHAPES
from tinytx.toolchain.bench.fwsa_cases import measure_attention

pytestmark = pytest.mark.firmware


@pytest.mark.parametrize("name", ["A", "C"])
def test_fwsa_score_part_on_m4(name: str, build_root) -> None:
    shape = SHAPES[name]
    fig = measure_attention(shape, "m4", "arm", build_root=build_root, blocks=False)
    ins = {k: m.instructions for k, m in fig.measured.items()}
    assert ins["t_proj"] * 2 <= ins["q_proj"] + ins["k_proj"] + 64  # one projection, not two
    ratio = fig.score_unfused / fig.score_fused
    s, e = shape.seq_len, shape.embed_dim
    bound = (2 * e + s) / (e + s)  # operation count of the score part, P == E
    assert ratio > 0.9 * bound
    if name == "C":
        assert ratio >= 1.5
