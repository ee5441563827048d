"""``tinytx plan <model.onnx>``: the plan of a whole model.

The ONNX frontend loads the model into its IR; :func:`tinytx.core.plan.planning.plan_model` builds
the planner's schedule from it (one step per kernel call, each with its kernel's scratch),
chooses each attention block's schedule (layer-wise, or depth-first tiles sized with
:mod:`tinytx.core.plan.mhsa`) and the arena offsets
(:func:`tinytx.core.plan.arena.plan_arena`). This is the same plan ``tinytx convert``
generates code from.
"""

from __future__ import annotations

from pathlib import Path

from tinytx.core.errors import UserInputError
from tinytx.core.plan.budget import RamBudget


def plan_model(
    path: Path,
    budget: RamBudget,
    fwsa_mode: str,
    tile_rows: int | None,
    kernels: str | None = None,
    cores: int | None = None,
    sparse: str = "auto",
    tflite_arith: str = "match",
) -> dict:
    """Plan a whole model; returns the JSON object ``tinytx plan`` prints (``cores``:
    default, the board's)."""
    from tinytx.core.codegen.project import board_cpu, default_cores, default_kernels, plan_json

    if not path.is_file():
        raise UserInputError(f"{path}: no such model file")
    variant = kernels or default_kernels(budget.board)
    return plan_json(
        path, budget.budget, budget.describe(), fwsa_mode, tile_rows, variant,
        board_cpu(budget.board), default_cores(budget.board) if cores is None else cores,
        sparse, tflite_arith,
    )  # fmt: skip


def _stored(result: dict) -> str:
    """``8,192 bytes`` or, with sparse layers, ``2,048 bytes stored (8,192 dense)``."""
    dense = result["weight_bytes"]
    stored = result.get("stored_weight_bytes", dense)
    if stored == dense:
        return f"{dense:,} bytes"
    return f"{stored:,} bytes stored ({dense:,} dense, sparse storage saves {dense - stored:,})"


def render_text(result: dict) -> str:
    """The human-readable form of :func:`plan_model`'s result."""
    lines = [
        f"model {result['name']} ({result['model']}): {result['kernel_calls']} kernel calls, "
        f"{result['macs']:,} MACs, weights {_stored(result)}, "
        f"'{result['kernels']}' kernels on {result['cores']} core"
        + ("s" if result["cores"] > 1 else ""),
        f"RAM budget: {result['budget']}",
        f"whole-model arena, every attention block layer-wise: "
        f"{result['layerwise_peak_bytes']:,} bytes",
    ]
    if result["dft_peak_bytes"] is not None:
        lines.append(
            f"whole-model arena, depth-first tiles of {result['dft_tile_rows']} rows: "
            f"{result['dft_peak_bytes']:,} bytes"
        )
    lines += [f"  {d}" for d in result["decisions"]]
    if result.get("schedule"):
        lines.append(f"  candidates ({result['schedule']['pricing']}):")
        lines += [f"    {c}" for c in result["schedule"]["candidates"]]
    verdict = "fits" if result["fits"] else "does NOT fit"
    lines.append(f"chosen plan: arena {result['arena_bytes']:,} bytes: {verdict}")
    return "\n".join(lines) + "\n"
