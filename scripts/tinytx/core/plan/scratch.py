"""Scratch bytes of every kernel call the planner places, per kernel variant and core count.

The planner needs each kernel call's scratch (its ``*_get_buffer_size``) before any
firmware is built. The C is the only definition of those sizes: :class:`KernelScratch`
asks the variant's host-compiled size functions (:func:`tinytx.core.kernel_abi.kernel_abi`,
the very ``*_size.c`` sources the firmware links) for them, with the number of cores the
firmware runs its kernels on (the ``riscv`` kernels keep a working set per core, so their
sizes grow with it; ``ref`` and ``arm`` ignore it). Nothing here re-derives a size.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from tinytx.core.errors import UserInputError
from tinytx.core.kernel_abi import KernelAbi, kernel_abi
from tinytx.core.workloads import MhsaShape

VARIANTS = ("ref", "arm", "riscv")


@dataclass(frozen=True)
class ConvGeometry:
    """The fields of ``tinytx_conv2d_dims`` (declaration order, as the C size takes them)."""

    in_h: int
    in_w: int
    in_c: int
    out_h: int
    out_w: int
    out_c: int
    kernel_h: int
    kernel_w: int
    stride: tuple[int, int]
    pad: tuple[int, int, int, int]  # top, left, bottom, right
    dilation: tuple[int, int] = (1, 1)  # the appended fields (none by default)

    def fields(self) -> tuple[int, ...]:
        return (
            self.in_h, self.in_w, self.in_c, self.out_h, self.out_w, self.out_c,
            self.kernel_h, self.kernel_w, *self.stride, *self.pad,
        )  # fmt: skip


@dataclass(frozen=True)
class KernelScratch:
    """Scratch sizes of one kernel variant's calls on ``cores`` cores, from its C.

    ``no_linear``: linear ops planned without scratch (``tinytx_linear_s8``): their scratch
    would have raised the arena (:mod:`tinytx.core.plan.planning`). ``sparse``: linear and
    conv2d ops whose weights are stored sparse (``tinytx_{linear,conv2d}_sparse_s8``:
    their own sizes, :mod:`tinytx.core.plan.sparse`)."""

    kernels: str = "ref"
    cores: int = 1
    no_linear: frozenset[str] = frozenset()
    sparse: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.kernels not in VARIANTS:
            raise UserInputError(
                f"kernels: expected one of {', '.join(VARIANTS)}, got {self.kernels!r}"
            )
        if isinstance(self.cores, bool) or not isinstance(self.cores, int) or self.cores < 1:
            raise UserInputError(f"cores: expected an integer >= 1, got {self.cores!r}")

    @property
    def abi(self) -> KernelAbi:
        return kernel_abi(self.kernels)

    @property
    def source(self) -> str:
        cores = f"{self.cores} core" + ("s" if self.cores > 1 else "")
        return f"the C *_get_buffer_size of the '{self.kernels}' kernels for {cores}"

    def without_linear(self, names: frozenset[str]) -> KernelScratch:
        """The same sizes, with no scratch for the linear ops ``names``."""
        return dataclasses.replace(self, no_linear=names)

    def with_sparse(self, names: frozenset[str]) -> KernelScratch:
        """The same sizes, with the ops ``names`` planned with sparse weights."""
        return dataclasses.replace(self, sparse=names)

    @property
    def has_sparse(self) -> bool:
        """Whether the variant's C has the sparse-weight kernels' sizes (a kernels tree
        without ``tinytx_linear_sparse_s8`` plans every layer dense)."""
        try:
            self.abi.linear_sparse_buffer_size(1, 4, 1, 1, 0, 1)  # type: ignore[attr-defined]
            self.abi.conv2d_sparse_buffer_size(  # type: ignore[attr-defined]
                1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, num_cores=1
            )
        except (AttributeError, KeyError):
            return False
        return True

    def conv2d(self, geo: ConvGeometry, name: str = "") -> int:
        """``tinytx_conv2d_s8_get_buffer_size`` (``tinytx_conv2d_sparse_s8_get_buffer_size``
        when the op ``name`` has sparse weights)."""
        if name and name in self.sparse:
            size = self.abi.conv2d_sparse_buffer_size  # type: ignore[attr-defined]
            return size(*geo.fields(), num_cores=self.cores)
        if geo.dilation != (1, 1):
            return self.abi.conv2d_general_buffer_size(
                *geo.fields(), dilation=geo.dilation, depth_multiplier=1, num_cores=self.cores
            )
        return self.abi.conv2d_buffer_size(*geo.fields(), num_cores=self.cores)

    def attention(self, shape: MhsaShape, tile: int | None, fused: bool) -> int:
        """``tinytx_{mhsa,fwsa}[_dft]_s8_get_buffer_size`` (``tile``: DFT rows, None:
        the layer-wise block)."""
        s, e, h, p = shape.seq_len, shape.embed_dim, shape.heads, shape.head_dim
        if tile is None:
            size = self.abi.fwsa_buffer_size if fused else self.abi.mhsa_buffer_size
            return size(s, e, h, p, self.cores)
        size = self.abi.fwsa_dft_buffer_size if fused else self.abi.mhsa_dft_buffer_size
        return size(s, e, h, p, tile, self.cores)

    def attention_layout(self, shape: MhsaShape, tile: int, fused: bool) -> dict[str, int]:
        """The named parts of the depth-first attention scratch (the variant's layout, see
        kernels/abi/tinytx_abi_<variant>.c), ``total`` among them."""
        s, e, h, p = shape.seq_len, shape.embed_dim, shape.heads, shape.head_dim
        return self.abi.attention_layout(s, e, h, p, tile, fused, self.cores)

    def linear(self, rows: int, in_features: int, out_features: int, name: str = "") -> int:
        """``tinytx_linear_buf_s8_get_buffer_size`` of a token-major layer (op ``name``;
        ``tinytx_linear_sparse_s8_get_buffer_size`` when it has sparse weights)."""
        layout = self.abi.constant("TINYTX_LAYOUT_TOKEN_MAJOR")
        assert layout is not None
        if name and name in self.sparse:
            size = self.abi.linear_sparse_buffer_size  # type: ignore[attr-defined]
            return size(rows, in_features, out_features, 1, layout, self.cores)
        if name and name in self.no_linear:
            return 0
        return self.abi.linear_buf_buffer_size(
            rows, in_features, out_features, 1, layout, self.cores
        )

    def linear_sparse(
        self, rows: int, in_features: int, out_features: int, heads: int, layout: str
    ) -> int:
        """``tinytx_linear_sparse_s8_get_buffer_size`` (``layout``: the C constant's name)."""
        value = self.abi.constant(layout)
        assert value is not None
        size = self.abi.linear_sparse_buffer_size  # type: ignore[attr-defined]
        return size(rows, in_features, out_features, heads, value, self.cores)

    def qk_softmax(
        self, heads: int, q_rows: int, kv_rows: int, head_dim: int, k_heads: int | None = None
    ) -> int:
        """``tinytx_qk_softmax_s8_get_buffer_size`` (``k_heads``: default as many as Q)."""
        k = heads if k_heads is None else k_heads
        return self.abi.qk_softmax_buffer_size(heads, q_rows, kv_rows, head_dim, k, self.cores)

    def attention_head_bytes(self, shape: MhsaShape, tile: int, fused: bool) -> int:
        """Bytes of the per-head (and per-core) parts of the depth-first attention scratch:
        everything below its whole-block part (O; the ``arm`` kernel's Yacc or O)."""
        lay = self.attention_layout(shape, tile, fused)
        return lay["acc"] if self.kernels == "arm" else lay["o"]
