"""The host ABI library (tinytx.core.kernel_abi): the kernels' own size sources, compiled
for the host, give what the built firmware kernels give; constants, layouts, errors and
the cache behave as documented."""

from __future__ import annotations

import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinytx.core import kernel_abi as ka
from tinytx.core.errors import TinytxError

ERR_DIMS = -2


@pytest.fixture(scope="module", autouse=True)
def _abi_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Libraries built in the test's own cache (the user's cache stays untouched)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("TINYTX_CACHE_DIR", str(tmp_path_factory.mktemp("abi-cache")))
    ka.kernel_abi.cache_clear()
    yield
    ka.kernel_abi.cache_clear()
    mp.undo()


# ------------------------------------------------------------ host only
def test_each_variant_includes_its_firmware_size_sources() -> None:
    """kernels/abi/tinytx_abi_<variant>.c includes exactly the size files the firmware of
    that variant links (kernels/sources.cmake: the variant's file, else the reference)."""
    cmake = re.sub(r"#.*", "", (ka.kernels_dir() / "sources.cmake").read_text())
    names = re.search(r"set\(TINYTX_KERNEL_NAMES(.*?)\)", cmake, re.S)
    assert names is not None
    sizes = [n for n in names.group(1).split() if n.endswith("_size")]
    assert len(sizes) == 9
    for variant in ka.VARIANTS:
        text = ka.abi_source(variant).read_text()
        got = set(re.findall(r'#include "\.\./src/(\w+/\w+)\.c"', text))
        want = set()
        for name in sizes:
            own = ka.kernels_dir() / "src" / variant / f"{name}.c"
            want.add(f"{variant}/{name}" if own.is_file() else f"ref/{name}")
        assert got == want, variant


def test_constants_are_the_headers() -> None:
    types = (ka.kernels_dir() / "include" / "tinytx" / "types.h").read_text()
    for variant in ka.VARIANTS:
        abi = ka.kernel_abi(variant)
        assert abi.variant == variant
        assert abi.constant("TINYTX_MAX_REDUCTION") == 65535
        assert abi.constant("TINYTX_SOFTMAX_MAX_KV") == 1024
        assert abi.constant("TINYTX_LAYERNORM_MAX_FEATURES") == 4096
        assert abi.constant("TINYTX_BIAS_BOUND") == 1 << 30
        assert abi.constant("TINYTX_MAX_DIM") == 32767
        assert abi.constant("TINYTX_PARALLEL_SERIAL_MAX_CORES") == 64
        assert abi.constant("TINYTX_ERR_DIMS") == ERR_DIMS
        assert abi.constant("TINYTX_ERR_SCRATCH") == -4
        assert abi.constant("TINYTX_LAYOUT_HEAD_MAJOR_T") == 2
        for name in re.findall(r"^#define (TINYTX_\w+) \S", types, re.M):
            assert abi.constant(name) is not None, name  # every limit of types.h
        with pytest.raises(KeyError, match="TINYTX_NO_SUCH"):
            abi.constant("TINYTX_NO_SUCH")
    assert ka.kernel_abi("arm").constant("TT_CONV_BAND_MAX") == 65536


def test_num_cores_is_a_parameter() -> None:
    """riscv sizes grow with the cores, ref and arm ignore them; < 1 core is an error."""
    ref, arm, rv = (ka.kernel_abi(v) for v in ka.VARIANTS)
    for abi in (ref, arm):
        assert abi.mhsa_buffer_size(64, 64, 4, 16, 1) == abi.mhsa_buffer_size(64, 64, 4, 16, 8)
    assert rv.mhsa_buffer_size(64, 64, 4, 16, 1) == ref.mhsa_buffer_size(64, 64, 4, 16, 1)
    assert rv.mhsa_buffer_size(64, 64, 4, 16, 8) == ref.mhsa_buffer_size(64, 64, 4, 16, 1) + 7 * 256
    assert rv.qk_softmax_buffer_size(2, 3, 10, 4, 2, 8) == 8 * 40
    assert rv.mhsa_dft_buffer_size(64, 64, 4, 16, 8, 1) == ref.mhsa_dft_buffer_size(
        64, 64, 4, 16, 8, 1
    )
    assert rv.mhsa_dft_buffer_size(64, 64, 4, 16, 8, 8) > rv.mhsa_dft_buffer_size(
        64, 64, 4, 16, 8, 1
    )
    for abi in (ref, arm, rv):
        with pytest.raises(ValueError, match=r"tinytx_mhsa_s8_get_buffer_size.*TINYTX_ERR_DIMS"):
            abi.mhsa_buffer_size(64, 64, 4, 16, 0)


def test_sparse_sizes() -> None:
    """The sparse kernels' sizes: every variant answers valid dims, refuses bad ones."""
    for v in ka.VARIANTS:
        abi = ka.kernel_abi(v)
        assert abi.linear_sparse_buffer_size(16, 32, 64, 1, 0, 1) >= 0
        assert (
            abi.conv2d_sparse_buffer_size(8, 8, 8, 8, 8, 16, 3, 3, 1, 1, 1, 1, 1, 1, num_cores=1)
            > 0
        )
        with pytest.raises(ValueError, match=r"tinytx_linear_sparse_s8_get_buffer_size"):
            abi.linear_sparse_buffer_size(16, 32, 64, 3, 1, 1)  # N % H != 0
        with pytest.raises(ValueError, match=r"TINYTX_ERR_DIMS"):
            abi.conv2d_sparse_buffer_size(
                8, 8, 8, 7, 8, 16, 3, 3, 1, 1, 1, 1, 1, 1, num_cores=1
            )  # out_h wrong


def test_bad_dims_name_the_kernel_and_status() -> None:
    ref = ka.kernel_abi("ref")
    with pytest.raises(ValueError, match=r"tinytx_mhsa_dft_s8_get_buffer_size\(8, 8, 1, 8, 9, 1\)"):
        ref.mhsa_dft_buffer_size(8, 8, 1, 8, 9, 1)  # tile_rows > S
    with pytest.raises(ValueError, match=r"\[ref\]: TINYTX_ERR_DIMS"):
        ref.mhsa_buffer_size(1025, 8, 1, 8, 1)  # past TINYTX_SOFTMAX_MAX_KV
    with pytest.raises(ValueError, match=r"attention layout.*TINYTX_ERR_DIMS"):
        ka.kernel_abi("arm").attention_layout(8, 8, 1, 8, 0, False, 1)
    with pytest.raises(TypeError):
        ref.mhsa_buffer_size(8, 8, 1, 8.0, 1)  # type: ignore[arg-type]


def test_attention_layouts() -> None:
    """The layout's total is the DFT size; the arm engine grows with the tile (the planner's
    search over x relies on it) and has both output modes; ref fused has no K_h."""
    rng = np.random.default_rng(2)
    ymodes = set()
    for variant in ka.VARIANTS:
        abi = ka.kernel_abi(variant)
        for s, e, h, p in [
            (1, 1, 1, 1),
            (64, 64, 4, 16),
            *rng.integers(1, [90, 70, 9, 40], (20, 4)),
        ]:
            s, e, h, p = int(s), int(e), int(h), int(p)
            for fused in (False, True):
                for cores in (1, 2, 8):
                    totals = []
                    for x in sorted({1, 2, (s + 1) // 2, s} & set(range(1, s + 1))):
                        lay = abi.attention_layout(s, e, h, p, x, fused, cores)
                        size = (abi.fwsa_dft_buffer_size if fused else abi.mhsa_dft_buffer_size)(
                            s, e, h, p, x, cores
                        )
                        assert lay["total"] == size, (variant, s, e, h, p, x, fused, cores)
                        totals.append(size)
                        ymodes.add(lay.get("ymode"))
                        if variant == "ref" and fused:
                            assert lay["k"] == lay["vt"]
                    if variant == "arm":
                        assert totals == sorted(totals)
    assert {0, 1} <= ymodes


def test_no_compiler_is_one_clear_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(TinytxError) as exc:
        ka.build_library("ref")
    assert str(exc.value) == ka.NO_COMPILER


def test_cache_is_reused_and_keyed_by_the_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TINYTX_CACHE_DIR", str(tmp_path / "c"))
    first = ka.build_library("riscv")
    mtime = first.stat().st_mtime_ns
    assert ka.build_library("riscv") == first and first.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == [first.name]  # no temp left
    deps = {p.name for p in ka.included_files(ka.abi_source("riscv"))}
    assert {"tinytx_riscv_dft_layout.h", "tinytx_dft.h", "types.h", "tinytx_abi.h"} <= deps
    assert ka.main(["--build"]) == 0
    assert len(list((tmp_path / "c").iterdir())) == 3


def test_two_processes_build_into_one_cache(tmp_path: Path) -> None:
    """Racing builds of the same library both succeed and leave one file, no temporaries."""
    env = {**os.environ, "TINYTX_CACHE_DIR": str(tmp_path / "c")}
    cmd = [sys.executable, "-m", "tinytx.core.kernel_abi", "arm"]
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert outs[0] == outs[1] and outs[0].startswith("arm: ")
    assert [p.name for p in (tmp_path / "c").iterdir()] == [Path(outs[0][5:]).name]


# ------------------------------------------------------------ against the built kernels
def _shapes(rng: np.random.Generator) -> list[tuple[int, int, int, int]]:
    fixed = [(1, 1, 1, 1), (1, 8, 2, 4), (3, 5, 2, 2), (5, 7, 3, 4), (9, 13, 3, 5), (16, 32, 2, 2)]
    fixed += [(64, 64, 4, 16), (33, 6, 8, 2), (7, 12, 5, 3)]
    rand = [tuple(int(v) for v in r) for r in rng.integers(1, [100, 70, 9, 40], (25, 4))]
    return fixed + rand  # type: ignore[return-value]


def _conv_geometries(rng: np.random.Generator) -> list[tuple[int, ...]]:
    geos = [
        (16, 16, 2, 8, 3, 3, 1, (1, 1, 1, 1)),
        (1, 648, 4, 16, 1, 9, 2, (0, 4, 0, 4)),
        (1, 66, 8, 16, 1, 1, 1, (0, 0, 0, 0)),
        (4, 2046, 8, 2, 4, 3, 1, (1, 1, 1, 1)),  # a band of exactly TT_CONV_BAND_MAX
        (4, 2047, 8, 2, 4, 3, 1, (1, 1, 1, 1)),  # one column more: no band
    ]
    for _ in range(25):
        kh, kw = (int(v) for v in rng.integers(1, 6, 2))
        pads = tuple(int(v) for v in rng.integers(0, 2, 4) * rng.integers(0, 3, 4))
        cin, cout = int(rng.choice([1, 2, 3, 4, 5, 8, 12])), int(rng.integers(1, 20))
        geos.append((kh + 3, kw + 4, cin, cout, kh, kw, int(rng.integers(1, 3)), pads))
    out = []
    for ih, iw, cin, cout, kh, kw, stride, pads in geos:
        top, left, bottom, right = pads  # type: ignore[misc]
        oh = (ih + top + bottom - kh) // stride + 1
        ow = (iw + left + right - kw) // stride + 1
        out.append((ih, iw, cin, oh, ow, cout, kh, kw, stride, stride, *pads))  # type: ignore[misc]
    return out


def _check_against(runner: object, abi: ka.KernelAbi, cores: int, seed: int) -> int:
    """Every size function of the ABI against the firmware's own, for `cores`; the count."""
    rng = np.random.default_rng(seed)
    call = runner.call  # type: ignore[attr-defined]
    alloc = runner.alloc  # type: ignore[attr-defined]

    def both(kernel: str, fields: tuple[int, ...], extra: tuple[int, ...] = ()) -> None:
        dims = alloc(struct.pack(f"<{len(fields)}i", *fields))
        want = call(f"tinytx_{kernel}_get_buffer_size", [dims, *extra, cores]).return_value
        got = abi.buffer_size(kernel, *fields, *extra, cores, check=False)
        assert got == want, (abi.variant, kernel, fields, extra, cores)

    n = 0
    for s, e, h, p in _shapes(rng):
        dims = (s, e, h, p)
        both("mhsa_s8", dims)
        both("fwsa_s8", dims)
        for x in sorted({1, 2, 3, (s + 1) // 2, s, s + 1, int(rng.integers(1, s + 1))}):
            both("mhsa_dft_s8", dims, (x,))
            both("fwsa_dft_s8", dims, (x,))
        both("qk_softmax_s8", (h, s, s, p, h))
        both("qk_softmax_s8", (h, max(1, s // 3), s, e, 1))
        for layout, heads in ((0, 1), (1, h), (2, h)):
            both("linear_buf_s8", (s, e, h * p, heads, layout))
            both("linear_sparse_s8", (s, e, h * p, heads, layout))
        n += 1
    for geo in _conv_geometries(rng):
        both("conv2d_s8", geo)
        both("conv2d_sparse_s8", geo)
        n += 1
    return n


@pytest.mark.firmware
def test_arm_abi_is_the_built_arm_kernels(build_root: Path) -> None:
    from tinytx.core.targets import get_target
    from tinytx.toolchain.bench.run import BenchSession

    runner = BenchSession(get_target("m4"), "arm", build_root).runner
    assert _check_against(runner, ka.kernel_abi("arm"), 1, seed=3) > 60


@pytest.mark.firmware
@pytest.mark.parametrize("cores", [1, 2, 4, 8])
def test_riscv_abi_is_the_built_riscv_kernels(build_root: Path, cores: int) -> None:
    from tinytx.toolchain.bench import rv32x8
    from tinytx.toolchain.emu.unicorn_riscv import RiscvCoreRunner

    runner = RiscvCoreRunner(rv32x8.build_elf(build_root))
    runner.set_cores(cores)
    abi = ka.kernel_abi("riscv")
    assert _check_against(runner, abi, cores, seed=cores) > 60
    # a scratch sized for one core: refused on more (TINYTX_ERR_SCRATCH, probs untouched),
    # taken on as many as it was sized for
    h, sq, skv, p = 2, 3, 20, 8
    dims = runner.alloc(struct.pack("<5i", h, sq, skv, p, h))
    rq = runner.alloc(struct.pack("<3i", 1 << 30, 40, 0))  # by reference (ilp32)
    q, k = runner.alloc(bytes(h * sq * p)), runner.alloc(bytes(h * skv * p))
    probs = runner.alloc(b"\x5a" * (h * sq * skv))
    one = abi.qk_softmax_buffer_size(h, sq, skv, p, h, 1)
    ctx = runner.alloc(struct.pack("<Ii", runner.alloc(one), one))
    status = runner.call("tinytx_qk_softmax_s8", [dims, rq, q, k, probs, ctx]).return_value
    if cores == 1:
        assert status == 0
    else:
        assert status == abi.constant("TINYTX_ERR_SCRATCH")
        assert runner.read(probs, h * sq * skv) == b"\x5a" * (h * sq * skv)
