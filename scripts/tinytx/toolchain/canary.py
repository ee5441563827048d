"""Proof on an emulated target that a plan's arena is the memory the block really uses.

Each :class:`CanarySpec` (shape, schedule, tile size, fused or not) becomes a planned block:
the planner's offsets, the kernel calls of the schedule with their buffers at those
offsets, calibrated random data and the golden output. All cases go into one file that
the canary firmware (``tests/plan/src/main.c``) runs in one emulator boot: it fills the
arena, a guard zone before it and everything after it with a canary byte (twice, with two
different bytes), runs the calls, checks the output and reports the high-water mark. The
plan is real when the high-water mark equals the planned arena, the output matches and
the guard zone is intact.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from tinytx.core import golden as g
from tinytx.core.golden.linear import Layout
from tinytx.core.plan.arena import plan_arena
from tinytx.core.plan.fwsa import fuse_mhsa
from tinytx.core.plan.mhsa import (
    SchedulePlan,
    dft_schedule,
    layerwise_peak,
    layerwise_schedule,
)
from tinytx.core.plan.scratch import KernelScratch
from tinytx.core.resources import baremetal_port_dir, firmware_tests_dir, resolve_build_dir
from tinytx.core.targets import get_target
from tinytx.core.workloads import MhsaShape, make_mhsa
from tinytx.toolchain.build import cmake_build
from tinytx.toolchain.emu.qemu import run_program

APP = "tinytx_plan_canary"
MAGIC = b"TTPL"
VERSION = 1
CAPACITY = 1 << 20  # ARENA_CAPACITY of the firmware
OP_LINEAR, OP_QK_SOFTMAX, OP_AV, OP_MHSA_DFT, OP_FWSA_DFT = 1, 2, 3, 4, 5


def source() -> Path:
    """The canary firmware (tests/plan/src/main.c)."""
    return firmware_tests_dir() / "plan" / "src" / "main.c"


_CASE = re.compile(
    r"^CASE id=(\d+) planned=(\d+) highwater=(\d+) match=(\d) guard=(\d) status=(-?\d+)$", re.M
)


@dataclass(frozen=True)
class CanarySpec:
    shape: MhsaShape
    schedule: str  # "layerwise" or "dft"
    tile_rows: int | None = None
    fused: bool = False
    keep_input: bool = False
    seed: int = 1
    align: int = 4
    label: str = ""
    scratch_error: int = 0  # tests: plan this many scratch bytes too few (the proof must fail)
    kernels: str = "ref"  # the variant whose DFT kernel's scratch is planned (run_canary sets it)

    def describe(self) -> str:
        kind = ("FWSA " if self.fused else "MHSA ") + self.schedule
        tile = f" x={self.tile_rows}" if self.tile_rows else ""
        return f"{self.label or self.shape} {kind}{tile}"

    def plan(self) -> SchedulePlan:
        if self.schedule == "layerwise":
            sched = layerwise_schedule(self.shape, self.fused, self.keep_input)
            peak = layerwise_peak(self.shape, self.fused)
        elif self.schedule == "dft" and self.tile_rows is not None:
            scratch = KernelScratch(self.kernels)
            peak = scratch.attention(self.shape, self.tile_rows, self.fused)
            sched = dft_schedule(self.shape, self.tile_rows, self.fused, self.keep_input, scratch)
        else:
            raise ValueError(f"canary: unknown schedule {self.schedule!r} (tile {self.tile_rows})")
        if self.scratch_error:
            steps = tuple(
                replace(st, scratch=st.scratch - self.scratch_error) if st.scratch else st
                for st in sched.steps
            )
            sched = replace(sched, steps=steps)
        arena = plan_arena(sched, self.align)
        return SchedulePlan(self.schedule, self.tile_rows, peak, arena, sched)


@dataclass(frozen=True)
class CanaryResult:
    spec: CanarySpec
    planned: int
    highwater: int
    match: bool
    guard_ok: bool
    status: int

    @property
    def ok(self) -> bool:
        return self.match and self.guard_ok and self.status == 0 and self.highwater == self.planned


class _Blobs:
    def __init__(self) -> None:
        self.data: list[bytes] = []

    def add(self, a: np.ndarray | None, dtype: str = "<i1") -> int:
        if a is None:
            return -1
        self.data.append(np.ascontiguousarray(a, dtype=dtype).tobytes())
        return len(self.data) - 1


def _rq(rq: g.Requant) -> tuple[int, int]:
    return rq.multiplier, rq.shift


def _case_bytes(case_id: int, spec: CanarySpec, sp: SchedulePlan) -> bytes:
    shape = spec.shape
    s, e, h, p = shape.seq_len, shape.embed_dim, shape.heads, shape.head_dim
    hp = h * p
    work = make_mhsa(shape, spec.seed)
    off, plan = sp.arena.offsets, sp.arena
    blobs = _Blobs()
    x_blob = blobs.add(work.x)
    if spec.fused:
        fw, fq = fuse_mhsa(work.weights, work.quant, h, work.x)
        y = g.fwsa_s8(work.x, h, fw, fq)
        wt, bt = blobs.add(fw.wt), blobs.add(fw.bt, "<i4")
        rq_v, rq_sm, rq_av, rq_out = fq.v, fq.softmax, fq.av, fq.out
        wts = fw
    else:
        w, qp = work.weights, work.quant
        y = g.mhsa_s8(work.x, h, w, qp)
        wq, bq = blobs.add(w.wq), blobs.add(w.bq, "<i4")
        wk, bk = blobs.add(w.wk), blobs.add(w.bk, "<i4")
        rq_v, rq_sm, rq_av, rq_out = qp.v, qp.softmax, qp.av, qp.out
        wts = w
    wv, bv = blobs.add(wts.wv), blobs.add(wts.bv, "<i4")
    wo, bo = blobs.add(wts.wo), blobs.add(wts.bo, "<i4")
    y_blob = blobs.add(y)
    full = (-128, 127)

    def linear(dims, rq, inp, wb, bb, out) -> tuple[int, tuple[int, ...]]:
        return OP_LINEAR, (*dims, *_rq(rq), *full, off[inp], wb, bb, off[out])

    ops: list[tuple[int, tuple[int, ...]]] = []
    if spec.schedule == "layerwise":
        sm = plan.scratch_offsets["qk_softmax"]
        if spec.fused:
            ops.append(linear((s, e, h * e, h, Layout.HEAD_MAJOR), fq.t, "x", wt, bt, "t"))
            scores = (OP_QK_SOFTMAX, (h, s, s, e, 1, *_rq(rq_sm), off["t"], off["x"], off["a"], sm))
        else:
            ops.append(linear((s, e, hp, h, Layout.HEAD_MAJOR), qp.q, "x", wq, bq, "q"))
            ops.append(linear((s, e, hp, h, Layout.HEAD_MAJOR), qp.k, "x", wk, bk, "k"))
            scores = (OP_QK_SOFTMAX, (h, s, s, p, h, *_rq(rq_sm), off["q"], off["k"], off["a"], sm))
        ops.append(linear((s, e, hp, h, Layout.HEAD_MAJOR_T), rq_v, "x", wv, bv, "vt"))
        ops.append(scores)
        ops.append((OP_AV, (h, s, s, p, h, *_rq(rq_av), off["a"], off["vt"], off["o"])))
        ops.append(linear((s, hp, e, 1, Layout.TOKEN_MAJOR), rq_out, "o", wo, bo, "y"))
    else:
        assert spec.tile_rows is not None
        step = "fwsa_dft" if spec.fused else "mhsa_dft"
        io = (off["x"], off["y"], plan.scratch_offsets[step])
        if spec.fused:
            rqs = (fq.t, fq.v, fq.softmax, fq.av, fq.out)
            ops.append(
                (
                    OP_FWSA_DFT,
                    (
                        s,
                        e,
                        h,
                        p,
                        spec.tile_rows,
                        *(v for rq in rqs for v in _rq(rq)),
                        wt,
                        bt,
                        wv,
                        bv,
                        wo,
                        bo,
                        *io,
                    ),
                )
            )
        else:
            rqs = (qp.q, qp.k, qp.v, qp.softmax, qp.av, qp.out)
            ops.append(
                (
                    OP_MHSA_DFT,
                    (
                        s,
                        e,
                        h,
                        p,
                        spec.tile_rows,
                        *(v for rq in rqs for v in _rq(rq)),
                        wq,
                        bq,
                        wk,
                        bk,
                        wv,
                        bv,
                        wo,
                        bo,
                        *io,
                    ),
                )
            )
    out = [
        struct.pack(
            "<8I", case_id, plan.arena_bytes, len(blobs.data), 1, len(ops), off["y"], y.size, y_blob
        )
    ]
    for b in blobs.data:
        out.append(struct.pack("<I", len(b)) + b + b"\0" * (-len(b) % 4))
    out.append(struct.pack("<II", x_blob, off["x"]))
    for opcode, args in ops:
        out.append(struct.pack(f"<II{len(args)}i", opcode, len(args), *args))
    return b"".join(out)


def write_cases(path: Path, specs: Sequence[CanarySpec]) -> list[SchedulePlan]:
    """Write the plan-case file; returns each case's plan."""
    plans = [spec.plan() for spec in specs]
    for spec, sp in zip(specs, plans, strict=True):
        if sp.arena_bytes > CAPACITY:
            raise ValueError(
                f"canary: {spec.describe()} needs {sp.arena_bytes} bytes "
                f"(firmware capacity {CAPACITY})"
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    body = b"".join(
        _case_bytes(i, spec, sp) for i, (spec, sp) in enumerate(zip(specs, plans, strict=True))
    )
    path.write_bytes(MAGIC + struct.pack("<II", VERSION, len(specs)) + body)
    return plans


def build_firmware(
    target_name: str = "m4", variant: str | None = None, build_root: Path | None = None
) -> Path:
    build_root = resolve_build_dir(build_root)
    target = get_target(target_name)
    variant = target.check_kernels(variant or target.default_kernels)
    build_dir = (build_root / "plan-canary" / f"{target_name}-{variant}").resolve()
    cmake_build(
        baremetal_port_dir(),
        build_dir,
        target,
        {
            "TINYTX_APP_NAME": APP,
            "TINYTX_APP_SOURCES": str(source()),
            "TINYTX_KERNEL_VARIANT": variant,
        },
    )
    return build_dir / APP


def run_canary(
    specs: Sequence[CanarySpec],
    target_name: str = "m4",
    variant: str | None = None,
    build_root: Path | None = None,
    timeout: float = 600.0,
) -> list[CanaryResult]:
    """Build the firmware, run every spec in one boot, return one result per spec."""
    build_root = resolve_build_dir(build_root)
    target = get_target(target_name)
    variant = target.check_kernels(variant or target.default_kernels)
    specs = [replace(spec, kernels=variant) for spec in specs]
    program = build_firmware(target_name, variant, build_root)
    cases = build_root.resolve() / "plan-canary" / "cases.bin"
    write_cases(cases, specs)
    result = run_program(target, program, [str(cases)], timeout)
    text = result.stdout + result.stderr
    found = {int(m[1]): m for m in _CASE.finditer(text)}
    if len(found) != len(specs):
        tail = "\n".join(text.splitlines()[-20:])
        raise RuntimeError(
            f"canary firmware reported {len(found)} of {len(specs)} cases "
            f"(exit {result.returncode}):\n{tail}"
        )
    return [
        CanaryResult(
            spec,
            int(found[i][2]),
            int(found[i][3]),
            found[i][4] == "1",
            found[i][5] == "1",
            int(found[i][6]),
        )
        for i, spec in enumerate(specs)
    ]
