"""The kernels' scratch sizes, attention scratch layouts and limits, read from the C.

The C headers and size sources are the only definition of every ``*_get_buffer_size``,
of the attention scratch layouts and of the kernel limits. This module compiles the host
ABI library of a kernel variant (``kernels/abi/tinytx_abi_<variant>.c``, which includes
that variant's very size sources) with the host C compiler into a cache directory,
loads it with ctypes and offers typed calls::

    abi = kernel_abi("riscv")
    abi.mhsa_dft_buffer_size(s=64, e=64, h=4, p=16, tile_rows=8, num_cores=8)
    abi.constant("TINYTX_SOFTMAX_MAX_KV")

The cache (``$TINYTX_CACHE_DIR``, else ``${XDG_CACHE_HOME:-~/.cache}/tinytx/abi``) is
keyed by a hash of every C file the library includes and of the compiler command, and
each library lands there atomically (temporary file, then rename), so concurrent
processes share it safely. ``python -m tinytx.core.kernel_abi --build`` builds all three.
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from tinytx.core import resources
from tinytx.core.errors import TinytxError

VARIANTS = ("ref", "arm", "riscv")
COMPILERS = ("cc", "gcc")
CFLAGS = ("-shared", "-fPIC", "-O1", "-std=c99", "-Wall", "-Werror")
NO_COMPILER = (
    "tinytx reads kernel scratch sizes from the C headers through a host-compiled library; "
    "no host C compiler found (cc, gcc): install build-essential"
)
_INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.MULTILINE)
_LAYOUT_CAPACITY = 64
_INT64_MIN = -(1 << 63)

# The dims fields of each kernel's *_get_buffer_size, in the C struct's declaration order.
CONV2D_FIELDS = (
    "in_h",
    "in_w",
    "in_c",
    "out_h",
    "out_w",
    "out_c",
    "kernel_h",
    "kernel_w",
    "stride_h",
    "stride_w",
    "pad_top",
    "pad_left",
    "pad_bottom",
    "pad_right",
)
_SIZE_ARGS = {
    "linear_buf_s8": 6,
    "qk_softmax_s8": 6,
    "mhsa_s8": 5,
    "mhsa_dft_s8": 6,
    "fwsa_s8": 5,
    "fwsa_dft_s8": 6,
    "conv2d_s8": 15,
    "linear_sparse_s8": 6,
    "conv2d_sparse_s8": 15,
    "conv2d_general_s8": 18,
}


def kernels_dir() -> Path:
    """The kernel sources (the one place this module learns where they are): the
    checkout's, or an installed wheel's package data."""
    return resources.kernels_dir()


def cache_dir() -> Path:
    if os.environ.get("TINYTX_CACHE_DIR"):
        return Path(os.environ["TINYTX_CACHE_DIR"])
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "tinytx" / "abi"


def find_compiler() -> str:
    for name in COMPILERS:
        path = shutil.which(name)
        if path:
            return path
    raise TinytxError(NO_COMPILER)


def _check_variant(variant: str) -> str:
    if variant not in VARIANTS:
        raise ValueError(f"kernel variant: expected one of {', '.join(VARIANTS)}, got {variant!r}")
    return variant


def abi_source(variant: str) -> Path:
    return kernels_dir() / "abi" / f"tinytx_abi_{_check_variant(variant)}.c"


def _include_dirs() -> tuple[Path, ...]:
    return (kernels_dir() / "include", kernels_dir() / "src")


def included_files(source: Path) -> list[Path]:
    """``source`` and every quoted include it reaches (searched as the compiler does:
    the including file's directory, then the include directories), sorted."""
    seen: set[Path] = set()
    todo = [source.resolve()]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in _INCLUDE.findall(path.read_text(encoding="utf-8")):
            for base in (path.parent, *_include_dirs()):
                candidate = (base / name).resolve()
                if candidate.is_file():
                    todo.append(candidate)
                    break
    return sorted(seen)


def _fingerprint(variant: str, compiler: str) -> str:
    root = kernels_dir().resolve()
    h = hashlib.sha256()
    h.update(" ".join((os.path.basename(compiler), *CFLAGS)).encode())
    for path in included_files(abi_source(variant)):
        h.update(str(path.relative_to(root)).encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def build_library(variant: str) -> Path:
    """The variant's ABI library, compiled unless the cache already holds this version."""
    compiler = find_compiler()
    out_dir = cache_dir()
    lib = out_dir / f"libtinytx_abi_{variant}-{_fingerprint(variant, compiler)}.so"
    if lib.is_file():
        return lib
    out_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=lib.stem + ".", suffix=".tmp", dir=out_dir)
    os.close(fd)
    tmp = Path(tmp_name)
    cmd = [compiler, *CFLAGS]
    cmd += [f"-I{d}" for d in _include_dirs()]
    cmd += [str(abi_source(variant)), "-o", str(tmp)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            detail = (proc.stderr or proc.stdout).strip().splitlines()
            first = detail[0] if detail else f"exit status {proc.returncode}"
            raise TinytxError(f"kernel ABI library ({variant}): {compiler} failed: {first}")
        os.replace(tmp, lib)  # atomic: a racing process replaces it with the same bytes
    finally:
        tmp.unlink(missing_ok=True)
    return lib


_STATUS_NAMES = (
    "TINYTX_OK",
    "TINYTX_ERR_NULL",
    "TINYTX_ERR_DIMS",
    "TINYTX_ERR_PARAM",
    "TINYTX_ERR_SCRATCH",
)


@dataclass(frozen=True)
class KernelAbi:
    """One kernel variant's sizes, layouts and constants, from its host-compiled C."""

    variant: str
    library: Path
    _lib: ctypes.CDLL

    def _fn(self, name: str, nargs: int, restype: type = ctypes.c_int32) -> Callable[..., int]:
        fn = getattr(self._lib, name)
        fn.restype = restype
        fn.argtypes = [ctypes.c_int32] * nargs
        return fn

    def status_name(self, status: int) -> str:
        for name in _STATUS_NAMES:
            if self.constant(name, missing_ok=True) == status:
                return name
        return f"status {status}"

    def constant(self, name: str, missing_ok: bool = False) -> int | None:
        fn = self._lib.tinytx_abi_constant
        fn.restype = ctypes.c_int64
        fn.argtypes = [ctypes.c_char_p]
        value = int(fn(name.encode()))
        if value == _INT64_MIN:
            if missing_ok:
                return None
            raise KeyError(f"kernel constant {name!r}: not exported by kernels/abi/tinytx_abi.h")
        return value

    def buffer_size(self, kernel: str, *args: int, check: bool = True) -> int:
        """``tinytx_<kernel>_get_buffer_size`` (kernel e.g. ``mhsa_dft_s8``) for the dims
        fields in declaration order (then tile_rows, when the kernel has one) and num_cores;
        a negative status raises ValueError (``check=False``: is returned)."""
        nargs = _SIZE_ARGS[kernel]
        if len(args) != nargs:
            raise TypeError(f"{kernel}: expected {nargs} arguments, got {len(args)}")
        values = [_int32(kernel, a) for a in args]
        size = int(self._fn(f"tinytx_abi_{kernel}_get_buffer_size", nargs)(*values))
        if size < 0 and check:
            raise ValueError(
                f"tinytx_{kernel}_get_buffer_size({', '.join(map(str, values))}) "
                f"[{self.variant}]: {self.status_name(size)}"
            )
        return size

    def linear_buf_buffer_size(
        self,
        rows: int,
        in_features: int,
        out_features: int,
        heads: int,
        layout: int,
        num_cores: int,
    ) -> int:
        return self.buffer_size(
            "linear_buf_s8", rows, in_features, out_features, heads, layout, num_cores
        )

    def qk_softmax_buffer_size(
        self, heads: int, q_rows: int, kv_rows: int, head_dim: int, k_heads: int, num_cores: int
    ) -> int:
        return self.buffer_size(
            "qk_softmax_s8", heads, q_rows, kv_rows, head_dim, k_heads, num_cores
        )

    def mhsa_buffer_size(self, s: int, e: int, h: int, p: int, num_cores: int) -> int:
        return self.buffer_size("mhsa_s8", s, e, h, p, num_cores)

    def mhsa_dft_buffer_size(
        self, s: int, e: int, h: int, p: int, tile_rows: int, num_cores: int
    ) -> int:
        return self.buffer_size("mhsa_dft_s8", s, e, h, p, tile_rows, num_cores)

    def fwsa_buffer_size(self, s: int, e: int, h: int, p: int, num_cores: int) -> int:
        return self.buffer_size("fwsa_s8", s, e, h, p, num_cores)

    def fwsa_dft_buffer_size(
        self, s: int, e: int, h: int, p: int, tile_rows: int, num_cores: int
    ) -> int:
        return self.buffer_size("fwsa_dft_s8", s, e, h, p, tile_rows, num_cores)

    def conv2d_buffer_size(self, *dims: int, num_cores: int) -> int:
        """The 14 ``tinytx_conv2d_dims`` fields (:data:`CONV2D_FIELDS` order), then num_cores."""
        if len(dims) != len(CONV2D_FIELDS):
            raise TypeError(f"conv2d_s8: expected {len(CONV2D_FIELDS)} dims, got {len(dims)}")
        return self.buffer_size("conv2d_s8", *dims, num_cores)

    def linear_sparse_buffer_size(
        self,
        rows: int,
        in_features: int,
        out_features: int,
        heads: int,
        layout: int,
        num_cores: int,
    ) -> int:
        return self.buffer_size(
            "linear_sparse_s8", rows, in_features, out_features, heads, layout, num_cores
        )

    def conv2d_sparse_buffer_size(self, *dims: int, num_cores: int) -> int:
        """The 14 ``tinytx_conv2d_dims`` fields (:data:`CONV2D_FIELDS` order), then num_cores."""
        if len(dims) != len(CONV2D_FIELDS):
            raise TypeError(
                f"conv2d_sparse_s8: expected {len(CONV2D_FIELDS)} dims, got {len(dims)}"
            )
        return self.buffer_size("conv2d_sparse_s8", *dims, num_cores)

    def conv2d_general_buffer_size(
        self, *dims: int, dilation: tuple[int, int], depth_multiplier: int, num_cores: int
    ) -> int:
        """:meth:`conv2d_buffer_size` with the appended fields dilation_h, dilation_w and
        depth_multiplier."""
        if len(dims) != len(CONV2D_FIELDS):
            raise TypeError(f"conv2d_s8: expected {len(CONV2D_FIELDS)} dims, got {len(dims)}")
        return self.buffer_size("conv2d_general_s8", *dims, *dilation, depth_multiplier, num_cores)

    def attention_layout_names(self) -> tuple[str, ...]:
        fn = self._lib.tinytx_abi_attention_layout_names
        fn.restype = ctypes.c_char_p
        fn.argtypes = []
        return tuple(fn().decode().split(","))

    def attention_layout(
        self, s: int, e: int, h: int, p: int, tile_rows: int, fused: bool, num_cores: int
    ) -> dict[str, int]:
        """The named parts (byte offsets, ``total`` and the variant's tile geometry) of the
        depth-first (``fused``: FWSA) attention scratch of this variant."""
        fn = self._lib.tinytx_abi_attention_layout
        fn.restype = ctypes.c_int32
        fn.argtypes = [ctypes.c_int32] * 7 + [ctypes.POINTER(ctypes.c_int32), ctypes.c_int32]
        out = (ctypes.c_int32 * _LAYOUT_CAPACITY)()
        args = [_int32("attention_layout", v) for v in (s, e, h, p, tile_rows, int(fused))]
        n = int(fn(*args, _int32("attention_layout", num_cores), out, _LAYOUT_CAPACITY))
        if n < 0:
            raise ValueError(
                f"attention layout (S={s}, E={e}, H={h}, P={p}, tile_rows={tile_rows}, "
                f"fused={bool(fused)}, num_cores={num_cores}) [{self.variant}]: "
                f"{self.status_name(n)}"
            )
        names = self.attention_layout_names()
        if n != len(names) or n > _LAYOUT_CAPACITY:
            raise RuntimeError(f"kernel ABI ({self.variant}): {n} layout values, names {names}")
        return {name: int(out[i]) for i, name in enumerate(names)}


def _int32(what: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what}: expected an integer, got {value!r}")
    if not -(1 << 31) <= value < (1 << 31):
        raise ValueError(f"{what}: {value} outside int32")
    return value


@cache
def kernel_abi(variant: str) -> KernelAbi:
    """The ABI of a kernel variant (``ref``, ``arm``, ``riscv``), built on first use."""
    lib_path = build_library(_check_variant(variant))
    lib = ctypes.CDLL(str(lib_path))
    fn = lib.tinytx_abi_variant
    fn.restype = ctypes.c_char_p
    got = fn().decode()
    if got != variant:
        raise RuntimeError(f"{lib_path}: built for {got!r}, expected {variant!r}")
    return KernelAbi(variant, lib_path, lib)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tinytx.core.kernel_abi",
        description="Build (or find cached) the host ABI libraries of the kernel variants.",
    )
    parser.add_argument("--build", action="store_true", help="build every variant's library")
    parser.add_argument("variants", nargs="*", help=f"default: {' '.join(VARIANTS)}")
    args = parser.parse_args(argv)
    try:
        for variant in args.variants or VARIANTS:
            _check_variant(variant)
            lib = build_library(variant)
            if not args.build:
                print(f"{variant}: {lib}")
    except (TinytxError, ValueError) as exc:
        print(f"error: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
