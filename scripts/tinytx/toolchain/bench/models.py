"""Whole-model benchmark: exact instructions of one inference of each sample model.

For a Cortex-M target, every sample (radar, eeg, ecg) is converted with the plan of the
target's board profile (the ``*_emu`` profile of boards/boards.yaml), the three models
are built into one firmware (:func:`tinytx.toolchain.firmware.build_multi`), and each
``tinytx_<model>_run`` is called once under unicorn on the model's first committed test
input; its output must equal the golden executor's. These are the figures
``tinytx run <sample> --board <profile> --emulate`` prints, and the ``models`` section of
tests/bench/budgets.json gates them (``tinytx bench --models --check-budget``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tinytx.core.errors import TinytxError
from tinytx.core.resources import resolve_build_dir, samples_dir

if TYPE_CHECKING:
    from tinytx.toolchain.bench.profile import ModelProfile

SAMPLES = ("radar", "eeg", "ecg")
#: target -> the board profile whose plan (RAM budget) the models are built with
PROFILES = {"m4": "nucleo_l476rg_emu", "m7": "nucleo_h743zi_emu"}


@dataclass(frozen=True)
class ModelCount:
    model: str
    macs: int
    instructions: int
    modelled_cycles: int
    arena_bytes: int
    profile: ModelProfile | None = None  # the per-layer split, when asked for


@dataclass(frozen=True)
class ModelsRun:
    target: str
    board: str
    kernels: str
    compiler: str
    elf: Path
    models: tuple[ModelCount, ...]

    def count(self, name: str) -> ModelCount:
        for m in self.models:
            if m.model == name:
                return m
        raise KeyError(name)


def measure_models(
    target_name: str,
    build_root: Path | None = None,
    samples: tuple[str, ...] = SAMPLES,
    profile: bool = False,
) -> ModelsRun:
    """Build the samples' firmware for `target_name` (m4, m7) and count one inference of
    each (with `profile`, also split by layer)."""
    build_root = resolve_build_dir(build_root)
    from tinytx.core.boards import get_board
    from tinytx.core.codegen.project import ConvertOptions, convert, default_kernels
    from tinytx.toolchain import firmware
    from tinytx.toolchain.bench.firmware import compiler_version

    if target_name not in PROFILES:
        raise ValueError(f"--models: whole models are measured on {', '.join(PROFILES)}")
    board = PROFILES[target_name]
    target = get_board(board).build_target()
    kernels = default_kernels(board)
    root = (build_root / "models" / target_name).resolve()
    convs, dirs = [], []
    for name in samples:
        onnx = samples_dir() / name / "model" / "model.onnx"
        conv = convert(onnx, ConvertOptions(board=board, kernels=kernels))
        gen = root / "generated" / name
        conv.write(gen)
        convs.append(conv)
        dirs.append(gen)
    elf = firmware.build_multi(convs, dirs, target, kernels, root / "firmware")
    counts = []
    for conv in convs:
        assert conv.test is not None
        c = firmware.count_instructions(
            elf, target.cpu or "cortex-m4", conv, conv.test.inputs[0], profile
        )
        if not np.array_equal(c.output, conv.test.expected[0]):
            raise TinytxError(
                f"{conv.planned.name} on {target_name}: the output differs from the golden "
                "executor's"
            )
        counts.append(
            ModelCount(
                conv.planned.name,
                conv.planned.macs,
                c.instructions,
                c.modelled_cycles,
                conv.plan.arena_bytes,
                c.profile,
            )
        )
    return ModelsRun(target_name, board, kernels, compiler_version(target), elf, tuple(counts))


def table(run: ModelsRun) -> str:
    lines = [
        f"whole models on {run.target} ({run.board} plans, {run.kernels} kernels; "
        "instructions exact, unicorn; cycles modelled):",
        f"{'model':<8} {'MACs':>11} {'instructions':>13} {'MAC/instr':>9} "
        f"{'mod. cycles':>12} {'arena':>8}",
    ]
    for m in run.models:
        lines.append(
            f"{m.model:<8} {m.macs:>11,} {m.instructions:>13,} "
            f"{m.macs / max(m.instructions, 1):>9.2f} {m.modelled_cycles:>12,} "
            f"{m.arena_bytes:>8,}"
        )
    return "\n".join(lines)
