"""``tinytx plan <model.onnx>``: the hook for whole models (wired by the ONNX frontend).

What the frontend provides here: :func:`plan_model` loads the model into its IR, builds a
:class:`tinytx.plan.schedule.Schedule` of the whole network in execution order (one
``Buffer`` per activation tensor, one ``Step`` per kernel call with its ``scratch`` from the
kernel's ``*_get_buffer_size`` and the ``inplace`` pairs the kernel allows), and for each
attention block picks the schedule with :func:`tinytx.plan.mhsa.choose_tile` (the DFT kernel
is then one step with scratch ``tinytx.plan.mhsa.dft_peak(shape, x, fused)``) and the
fusion with :func:`tinytx.plan.fwsa.decide_fwsa` / :func:`tinytx.plan.fwsa.fuse_mhsa`. Then
:func:`tinytx.plan.arena.plan_arena` gives the offsets the code generator emits.
"""

from __future__ import annotations

from pathlib import Path

from tinytx.errors import TinytxError
from tinytx.plan.budget import RamBudget


def plan_model(path: Path, budget: RamBudget, fwsa_mode: str, tile_rows: int | None) -> dict:
    """Plan a whole model; returns the JSON object ``tinytx plan`` prints."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such model file")
    raise TinytxError(
        f"{path}: planning whole ONNX models is not wired yet (the ONNX frontend connects "
        f"tinytx.plan.model.plan_model); plan a block with --shape S,E,P,H or A..D"
    )
