"""Scratch of the Cortex-M DSP attention engine: the ``arm`` variant's depth-first MHSA
(``tinytx_mhsa_dft_s8``) and its fused-weight blocks (``tinytx_fwsa_dft_s8``, and
``tinytx_fwsa_s8``, the same engine with one tile of S rows).

Mirrors ``tt_attn_layout_of`` in kernels/src/arm/tinytx_mhsa_dft_s8.c part by part
(tests/python/test_bench.py checks it against the built kernels). Operands are int16 in
the W2 layout (rows in pairs, the reduction in blocks of 4), so the parts are::

    Kw 2*S2*4*pb (MHSA) | Xw 2*xrows*4*eb | Vw 2*P2*4*sb | W 2*max(P2, E2 if FWSA)*4*eb |
    Q tile 2*rows*4*qb | probabilities 16*sb | O pair 16*pb | Wo_h 2*E2*4*pb (ymode) |
    scores 32*sb | Yacc 4*S2*E2 (ymode) or O int8 S*H*P

with S2, E2, P2 rounded up to even, sb/eb/pb the blocks of 4 of S, E, P, qb those of the
score reduction (P, or E for FWSA), rows = tile_rows rounded up to even, xrows =
min(S2, max(rows, 16)) (FWSA: S2, X is the keys), and ymode when Yacc and Wo_h take no
more than O.
"""

from __future__ import annotations

from tinytx.core.workloads import MhsaShape

XROWS_MIN = 16  # TT_XROWS_MIN: X is widened at least this many rows at a time


def _even(n: int) -> int:
    return (n + 1) & ~1


def _blocks(n: int) -> int:
    return (n + 3) // 4


def arm_attention_layout(shape: MhsaShape, tile_rows: int, fused: bool = False) -> dict[str, int]:
    """Byte offsets of the parts (``kw``, ``xw``, ``vw``, ``w``, ``qw``, ``pw``, ``o``, ``wo``,
    ``sc``, ``acc``), ``total``, and ``rows``, ``xrows``, ``ymode`` (0/1)."""
    x = tile_rows
    if isinstance(x, bool) or not isinstance(x, int) or not 1 <= x <= shape.seq_len:
        raise ValueError(f"tile_rows: {tile_rows!r} outside 1..S (S={shape.seq_len})")
    s, e, h, p = shape.seq_len, shape.embed_dim, shape.heads, shape.head_dim
    s2, e2, p2 = _even(s), _even(e), _even(p)
    eb, pb, sb = _blocks(e), _blocks(p), _blocks(s)
    qb = eb if fused else pb
    rows = _even(x)
    xrows = s2 if fused else min(s2, max(rows, XROWS_MIN))
    yacc, wo = 4 * s2 * e2, 2 * e2 * 4 * pb
    ymode = yacc + wo <= s * h * p
    lay = {"rows": rows, "xrows": xrows, "ymode": int(ymode), "kw": 0}
    lay["xw"] = lay["kw"] + (0 if fused else 2 * s2 * 4 * pb)
    lay["vw"] = lay["xw"] + 2 * xrows * 4 * eb
    lay["w"] = lay["vw"] + 2 * p2 * 4 * sb
    lay["qw"] = lay["w"] + 2 * (max(e2, p2) if fused else p2) * 4 * eb
    lay["pw"] = lay["qw"] + 2 * rows * 4 * qb
    lay["o"] = lay["pw"] + 2 * 2 * 4 * sb
    lay["wo"] = lay["o"] + 2 * 2 * 4 * pb
    lay["sc"] = lay["wo"] + (wo if ymode else 0)
    lay["acc"] = lay["sc"] + 2 * 4 * 4 * sb
    lay["total"] = lay["acc"] + (yacc if ymode else s * h * p)
    return lay


def arm_dft_scratch_bytes(shape: MhsaShape, tile_rows: int, fused: bool = False) -> int:
    """``tinytx_{mhsa,fwsa}_dft_s8_get_buffer_size`` of the ``arm`` variant."""
    return arm_attention_layout(shape, tile_rows, fused)["total"]


def arm_fwsa_scratch_bytes(shape: MhsaShape) -> int:
    """``tinytx_fwsa_s8_get_buffer_size`` of the ``arm`` variant (one tile of S rows)."""
    return arm_dft_scratch_bytes(shape, shape.seq_len, fused=True)
