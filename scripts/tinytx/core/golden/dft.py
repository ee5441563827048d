"""Depth-first tiled (DFT) MHSA: the schedule of ``tinytx_mhsa_dft_s8``.

Per head ``h``, ``K_h = X Wk_h^T`` (``[S][P]``) and ``V_h^T`` (``[P][S]``) are computed
once; the query rows are then processed in tiles of ``x`` rows::

    for r0 in 0, x, 2x, ...:          rows = min(x, S - r0)
        Q_t = linear(X[r0:r0+rows], Wq_h, bq_h)         -> [rows][P]
        A_t = qk_softmax(Q_t, K_h)                        -> [rows][S]   (uint8)
        O[r0:r0+rows, h*P:(h+1)*P] = av(A_t, V_h^T)       (head concat, written in place)
    Y = linear(O, Wo, bo)                                 -> [S][E]

Every step of the layer-wise MHSA is independent per token (projections) or per query
row (softmax, A*V), so the result equals :func:`tinytx.core.golden.attention.mhsa_s8` bit for
bit for every ``x`` in ``1..S``: the S x S attention map is never held, only ``x`` rows of
it. :func:`mhsa_dft_s8` computes it literally tile by tile (the specification of the
kernel's order of work), not by calling the layer-wise function.

:func:`fwsa_dft_s8` is the same for fused-weight attention (``tinytx_fwsa_dft_s8``): the
keys are ``X`` itself, so per head only ``V_h^T`` is computed once, and a tile is
``T_t = linear(X[r0:r0+rows], Wt_h, bt_h) -> [rows][E]`` scored against ``X``. It equals
:func:`tinytx.core.golden.attention.fwsa_s8` for every ``x``.
"""

from __future__ import annotations

import numpy as np

from tinytx.core.golden.attention import FwsaQuant, FwsaWeights, MhsaQuant, MhsaWeights, av_s8
from tinytx.core.golden.linear import Layout, linear_s8
from tinytx.core.golden.quant import as_int8, channel_rows
from tinytx.core.golden.softmax import qk_softmax_s8


def check_tile_rows(seq_len: int, tile_rows: int) -> int:
    """``tile_rows`` as an int in ``1..seq_len``; a one-line ValueError otherwise."""
    if isinstance(tile_rows, bool) or int(tile_rows) != tile_rows:
        raise ValueError(f"tile_rows: expected an integer, got {tile_rows!r}")
    if not 1 <= int(tile_rows) <= seq_len:
        raise ValueError(f"tile_rows: {tile_rows} outside 1..S (S={seq_len})")
    return int(tile_rows)


def tiles(seq_len: int, tile_rows: int) -> list[tuple[int, int]]:
    """``(first_row, rows)`` of every query tile, in order."""
    x = check_tile_rows(seq_len, tile_rows)
    return [(r0, min(x, seq_len - r0)) for r0 in range(0, seq_len, x)]


def mhsa_dft_s8(
    x: np.ndarray, heads: int, w: MhsaWeights, qp: MhsaQuant, tile_rows: int
) -> np.ndarray:
    """int8 MHSA block ``[S][E] -> [S][E]`` computed depth-first in tiles of query rows."""
    x = as_int8(x, "x", 2)
    s = x.shape[0]
    if heads < 1 or w.wq.shape[0] % heads:
        raise ValueError(f"heads: {heads} does not divide the {w.wq.shape[0]} projection rows")
    p = w.wq.shape[0] // heads
    o = np.empty((s, heads * p), np.int8)
    for h in range(heads):
        rows = slice(h * p, (h + 1) * p)

        def bias(b: np.ndarray | None, rows: slice = rows) -> np.ndarray | None:
            return None if b is None else np.asarray(b)[rows]

        rq_q, rq_k, rq_v = (channel_rows(r, rows) for r in (qp.q, qp.k, qp.v))
        k_h = linear_s8(x, w.wk[rows], bias(w.bk), rq_k, Layout.HEAD_MAJOR, 1)  # [1][S][P]
        vt_h = linear_s8(x, w.wv[rows], bias(w.bv), rq_v, Layout.HEAD_MAJOR_T, 1)  # [1][P][S]
        for r0, n in tiles(s, tile_rows):
            q_t = linear_s8(x[r0 : r0 + n], w.wq[rows], bias(w.bq), rq_q, Layout.HEAD_MAJOR, 1)
            a_t = qk_softmax_s8(q_t, k_h, qp.softmax)  # [1][n][S]
            o[r0 : r0 + n, rows] = av_s8(a_t, vt_h, qp.av)
    return linear_s8(o, w.wo, w.bo, qp.out)


def fwsa_dft_s8(
    x: np.ndarray, heads: int, w: FwsaWeights, qp: FwsaQuant, tile_rows: int
) -> np.ndarray:
    """int8 FWSA block ``[S][E] -> [S][E]`` computed depth-first in tiles of query rows."""
    x = as_int8(x, "x", 2)
    s, e = x.shape
    if heads < 1 or w.wv.shape[0] % heads:
        raise ValueError(f"heads: {heads} does not divide the {w.wv.shape[0]} value rows")
    if w.wt.shape[0] != heads * e:
        raise ValueError(f"wt: must have H*E = {heads * e} rows, got {w.wt.shape[0]}")
    p = w.wv.shape[0] // heads
    keys = x[np.newaxis]  # [1][S][E], shared by every head
    o = np.empty((s, heads * p), np.int8)
    for h in range(heads):
        t_rows, v_rows = slice(h * e, (h + 1) * e), slice(h * p, (h + 1) * p)
        bt = None if w.bt is None else np.asarray(w.bt)[t_rows]
        bv = None if w.bv is None else np.asarray(w.bv)[v_rows]
        vt_h = linear_s8(x, w.wv[v_rows], bv, qp.v, Layout.HEAD_MAJOR_T, 1)  # [1][P][S]
        for r0, n in tiles(s, tile_rows):
            t_t = linear_s8(x[r0 : r0 + n], w.wt[t_rows], bt, qp.t, Layout.HEAD_MAJOR, 1)
            a_t = qk_softmax_s8(t_t, keys, qp.softmax)  # [1][n][S]
            o[r0 : r0 + n, v_rows] = av_s8(a_t, vt_h, qp.av)
    return linear_s8(o, w.wo, w.bo, qp.out)
