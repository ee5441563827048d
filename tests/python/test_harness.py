"""The kernel test harness really detects wrong outputs and broken vector files."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from tinytx.core.vectors import KERNEL_IDS, generate_cases, read_cases, write_cases
from tinytx.core.vectors.format import MAGIC
from tinytx.toolchain import kernel_tests as kt

pytestmark = pytest.mark.firmware


def _corrupt_expected(path: Path, kernel: str, case_id: int) -> None:
    """Flip one byte of the expected output of one case, in place."""
    data = bytearray(path.read_bytes())
    pos = 12
    (count,) = struct.unpack_from("<I", data, 8)
    for _ in range(count):
        kid, cid, npar, nbuf = struct.unpack_from("<IIII", data, pos)
        pos += 16 + 4 * npar
        for b in range(nbuf):
            (n,) = struct.unpack_from("<I", data, pos)
            if kid == KERNEL_IDS[kernel] and cid == case_id and b == nbuf - 1:
                data[pos + 4] ^= 0x01
                path.write_bytes(bytes(data))
                return
            pos += 4 + n + (-n % 4)
    raise AssertionError("case not found")


def test_vector_roundtrip(tmp_path: Path) -> None:
    cases = generate_cases(3, 5)
    write_cases(tmp_path / "v.bin", cases)
    back = read_cases(tmp_path / "v.bin")
    assert len(back) == len(cases)
    for c, (kernel, cid, params, bufs) in zip(cases, back, strict=True):
        assert (kernel, cid, params) == (c.kernel, c.case_id, c.params)
        assert bufs[-1] == c.buffers[-1].tobytes()


def test_generation_is_reproducible() -> None:
    a, b = generate_cases(11, 3), generate_cases(11, 3)
    assert [c.params for c in a] == [c.params for c in b]
    assert all(
        x.buffers[-1].tobytes() == y.buffers[-1].tobytes() for x, y in zip(a, b, strict=True)
    )


@pytest.mark.parametrize("target", ["host", "m4"])
def test_runner_reports_a_corrupted_case(tmp_path: Path, build_root: Path, target: str) -> None:
    vec = tmp_path / "v.bin"
    write_cases(vec, generate_cases(5, 4, ["gelu", "mhsa"]))
    _corrupt_expected(vec, "mhsa", 2)
    report = kt.run_suite(target, vec, build_root)
    assert report.complete
    assert report.returncode == 1
    assert report.summaries["mhsa"].failed == 1
    assert report.summaries["gelu"].failed == 0
    assert any("kernel=mhsa case=2 " in f for f in report.failures)


@pytest.mark.parametrize("target", ["host", "m4"])
def test_runner_rejects_a_broken_file(tmp_path: Path, build_root: Path, target: str) -> None:
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"NOPE" + bytes(8))
    report = kt.run_suite(target, bad, build_root)
    assert not report.complete
    assert report.returncode == 2
    assert "not a tinytx vector file" in report.output

    truncated = tmp_path / "trunc.bin"
    write_cases(truncated, generate_cases(5, 2, ["add"]))
    truncated.write_bytes(truncated.read_bytes()[:-7])
    report = kt.run_suite(target, truncated, build_root)
    assert report.returncode == 2
    assert "malformed record" in report.output
    assert truncated.read_bytes()[:4] == MAGIC
