"""The benchmark's outputs: a table for people, JSON for scripts, a bar chart PNG."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tinytx.core.atomic import temp_path, write_text
from tinytx.toolchain.bench.cases import (
    KERNEL_DESCRIPTIONS,
    KERNELS,
    STAGE_DESCRIPTIONS,
    STAGE_FUNCTIONS,
    stage_work,
)
from tinytx.toolchain.bench.elementwise import ELEMENTWISE_DESCRIPTIONS
from tinytx.toolchain.bench.run import (
    BENCH_KERNELS,
    REFERENCE_VARIANT,
    BenchReport,
    KernelMeasurement,
    ShapeMeasurement,
)
from tinytx.toolchain.bench.runner import OTHER_STAGE

JSON_FORMAT = 1
UNITS = {
    "instructions": "exact executed instructions (unicorn, every instruction of the call)",
    "modelled_cycles": (
        "modelled cycles: instructions priced by a per-instruction cost table "
        "(scripts/tinytx/toolchain/bench/cost_tables.yaml); a model, not a silicon measurement"
    ),
    "macs": "multiply-accumulates of the operation (int8 x int8 or uint8 x int8)",
    "elements": "elements processed by an element-wise kernel (add, layernorm, gelu, lut)",
    "stages": (
        "exact instructions of the whole block by stage: each executed instruction in "
        "the innermost stage function running (the stages add up to the block)"
    ),
}

#: Stage labels in reporting order.
STAGE_ORDER: tuple[str, ...] = (*dict.fromkeys(STAGE_FUNCTIONS.values()), OTHER_STAGE)


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def _reference_kernel(report: BenchReport, shape: str, kernel: str) -> KernelMeasurement | None:
    if report.reference is None:
        return None
    return report.reference.shape(shape).kernels[kernel]


def stage_records(shape: ShapeMeasurement, kernel: str) -> list[dict[str, Any]] | None:
    """The stages of a measured kernel (the whole block), in `STAGE_ORDER`."""
    measured = shape.dft if shape.dft is not None and kernel == shape.dft.kernel else None
    return _stage_records(shape, measured or shape.kernels[kernel])


def _stage_records(shape: ShapeMeasurement, k: KernelMeasurement) -> list[dict[str, Any]] | None:
    stages = k.stages
    if stages is None:
        return None
    total = k.instructions
    records = []
    for stage in sorted(stages, key=lambda n: STAGE_ORDER.index(n)):
        count = stages[stage]
        macs, elements = stage_work(shape.spec.shape, stage)
        records.append(
            {
                "stage": stage,
                "description": STAGE_DESCRIPTIONS.get(stage, stage),
                "instructions": count,
                "share": _ratio(count, total),
                "macs": macs,
                "mac_per_instruction": _ratio(macs, count) if macs else None,
                "elements": elements,
                "instructions_per_element": _ratio(count, elements) if elements else None,
            }
        )
    return records


def kernel_record(report: BenchReport, shape: ShapeMeasurement, kernel: str) -> dict[str, Any]:
    k = shape.kernels[kernel]
    ref = _reference_kernel(report, shape.spec.name, kernel)
    rec: dict[str, Any] = {
        "kernel": kernel,
        "function": k.function,
        "description": {**KERNEL_DESCRIPTIONS, **ELEMENTWISE_DESCRIPTIONS}[kernel],
        "macs": k.macs,
        "elements": k.elements,
        "instructions": k.instructions,
        "modelled_cycles": k.modelled_cycles,
        "mac_per_instruction": _ratio(k.macs, k.instructions) if k.macs else None,
        "mac_per_modelled_cycle": _ratio(k.macs, k.modelled_cycles) if k.macs else None,
        "instructions_per_element": _ratio(k.instructions, k.elements) if k.elements else None,
        "output_matches_golden": True,  # the run stops at the first mismatch
    }
    stages = stage_records(shape, kernel)
    if stages is not None:
        rec["stages"] = stages
    if ref is not None:
        rec["reference_instructions"] = ref.instructions
        rec["reference_modelled_cycles"] = ref.modelled_cycles
        rec["speedup_vs_reference_instructions"] = _ratio(ref.instructions, k.instructions)
        rec["speedup_vs_reference_modelled_cycles"] = _ratio(ref.modelled_cycles, k.modelled_cycles)
    return rec


def dft_record(report: BenchReport, shape: ShapeMeasurement) -> dict[str, Any] | None:
    """The depth-first block measured with ``--tile`` (None without it)."""
    k = shape.dft
    if k is None:
        return None
    rec: dict[str, Any] = {
        "kernel": k.kernel,
        "function": k.function,
        "tile_rows": int(k.kernel.rsplit("=", 1)[1]),
        "macs": k.macs,
        "instructions": k.instructions,
        "modelled_cycles": k.modelled_cycles,
        "scratch_bytes": k.scratch_bytes,
        "ratio_to_layerwise_instructions": _ratio(k.instructions, shape.total_instructions),
        "output_matches_golden": True,
    }
    stages = stage_records(shape, k.kernel)
    if stages is not None:
        rec["stages"] = stages
    ref = report.reference.shape(shape.spec.name).dft if report.reference is not None else None
    if ref is not None and report.reference is not report.run:
        rec["reference_instructions"] = ref.instructions
        rec["speedup_vs_reference_instructions"] = _ratio(ref.instructions, k.instructions)
    return rec


def to_json(report: BenchReport) -> dict[str, Any]:
    run = report.run
    s = report.target
    return {
        "format": JSON_FORMAT,
        "tool": "tinytx bench",
        "target": s.name,
        "target_description": s.description,
        "cpu": run.cpu,
        "kernels": run.variant,
        "reference_kernels": REFERENCE_VARIANT if report.reference is not None else None,
        "compiler": report.compiler,
        "cflags": list(s.cflags),
        "seed": report.seed,
        "units": UNITS,
        "cost_model": report.cost_model,
        "shapes": [
            {
                "name": shape.spec.name,
                "S": shape.spec.shape.seq_len,
                "E": shape.spec.shape.embed_dim,
                "P": shape.spec.shape.head_dim,
                "H": shape.spec.shape.heads,
                "total_instructions": shape.total_instructions,
                "kernels": [kernel_record(report, shape, k) for k in BENCH_KERNELS],
                **({"dft": dft_record(report, shape)} if shape.dft is not None else {}),
            }
            for shape in run.shapes
        ],
    }


def write_json(report: BenchReport, path: Path) -> None:
    write_text(path, json.dumps(to_json(report), indent=2) + "\n")


def dumps_json(report: BenchReport) -> str:
    return json.dumps(to_json(report), indent=2)


def _fmt_ratio(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def table(report: BenchReport) -> str:
    """The human-readable table (modelled figures are labelled as such)."""
    run = report.run
    compare = report.reference is not None and report.reference is not run
    lines = [
        f"tinytx bench: {report.target.name} ({report.target.description})",
        f"kernels: {run.variant}"
        + (f", compared with {REFERENCE_VARIANT} (same flags)" if compare else "")
        + f"; {report.compiler}; {' '.join(report.target.cflags)}",
        "instructions: exact (unicorn); modelled cycles: cost table "
        f"{report.cost_model.get('cpu', run.cpu)} (a model, not silicon); seed {report.seed}",
    ]
    header = (
        f"{'kernel':<11} {'MACs':>11} {'instructions':>13} {'MAC/insn':>8} "
        f"{'modelled cyc':>13} {'MAC/mcyc':>8}"
    )
    if compare:
        header += f" {'ref instructions':>16} {'x ref insn':>10} {'x ref mcyc':>10}"
    for shape in run.shapes:
        lines += ["", f"shape {shape.spec.name} ({shape.spec.describe()})", header]
        for kernel in BENCH_KERNELS:
            r = kernel_record(report, shape, kernel)
            row = (
                f"{kernel:<11} {r['macs']:>11,} {r['instructions']:>13,} "
                f"{_fmt_ratio(r['mac_per_instruction']):>8} {r['modelled_cycles']:>13,} "
                f"{_fmt_ratio(r['mac_per_modelled_cycle']):>8}"
            )
            if compare:
                row += (
                    f" {r['reference_instructions']:>16,} "
                    f"{_fmt_ratio(r['speedup_vs_reference_instructions']):>10} "
                    f"{_fmt_ratio(r['speedup_vs_reference_modelled_cycles']):>10}"
                )
            lines.append(row)
        lines += stage_lines(shape)
        lines += dft_lines(report, shape)
    lines += [
        "",
        "add, layernorm, gelu, lut: element-wise, no MACs (JSON: instructions_per_element)",
    ]
    if compare:
        lines += ["x ref: reference instructions (or modelled cycles) / this variant's"]
    return "\n".join(lines)


def stage_lines(shape: ShapeMeasurement) -> list[str]:
    """The whole block by stage (empty if it was not split)."""
    lines: list[str] = []
    for kernel in KERNELS:
        records = stage_records(shape, kernel)
        if not records:
            continue
        lines.append(f"{kernel} by stage (exact instructions, innermost stage function):")
        for r in records:
            work = ""
            if r["mac_per_instruction"] is not None:
                work = f"{r['macs']:>11,} MACs {r['mac_per_instruction']:5.2f} MAC/insn"
            elif r["instructions_per_element"] is not None:
                work = f"{r['elements']:>11,} elts {r['instructions_per_element']:5.1f} insn/elt"
            lines.append(
                f"  {r['stage']:<10} {r['instructions']:>13,} {100 * r['share']:5.1f} %  {work}"
            )
    return lines


def dft_lines(report: BenchReport, shape: ShapeMeasurement) -> list[str]:
    """The depth-first block measured with ``--tile``, by stage (empty without it)."""
    r = dft_record(report, shape)
    if r is None:
        return []
    ref = ""
    if "reference_instructions" in r:
        ref = f"; x ref insn {r['speedup_vs_reference_instructions']:.2f}"
    lines = [
        f"{r['kernel']} (depth-first block, {r['function']}, {r['scratch_bytes']:,} bytes of "
        f"scratch): {r['instructions']:,} instructions, "
        f"{r['ratio_to_layerwise_instructions']:.3f}x the layer-wise block{ref}"
    ]
    for st in r.get("stages", ()):
        work = ""
        if st["mac_per_instruction"] is not None:
            work = f"{st['macs']:>11,} MACs {st['mac_per_instruction']:5.2f} MAC/insn"
        share = 100 * st["share"]
        lines.append(f"  {st['stage']:<10} {st['instructions']:>13,} {share:5.1f} %  {work}")
    return lines


def plot(report: BenchReport, path: Path) -> None:
    """Bar chart: exact instructions (top) and modelled cycles (bottom) per kernel."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    run = report.run
    shapes = run.shapes
    compare = report.reference is not None and report.reference is not run
    fig, axes = plt.subplots(
        2, len(shapes), figsize=(max(6.0, 3.2 * len(shapes) + 1.5), 7.0), squeeze=False,
        sharex=True,
    )  # fmt: skip
    names = list(BENCH_KERNELS)
    width = 0.4 if compare else 0.7
    xs = range(len(names))
    for col, shape in enumerate(shapes):
        for row, (field, label) in enumerate(
            (
                ("instructions", "exact instructions (M, log)"),
                ("modelled_cycles", "modelled cycles (M, log)"),
            )
        ):
            ax = axes[row][col]
            ours = [getattr(shape.kernels[k], field) / 1e6 for k in names]
            if compare:
                assert report.reference is not None
                ref_shape = report.reference.shape(shape.spec.name)
                refs = [getattr(ref_shape.kernels[k], field) / 1e6 for k in names]
                ax.bar([x - width / 2 for x in xs], refs, width, label=REFERENCE_VARIANT,
                       color="#b0b0b0")  # fmt: skip
                bars = ax.bar([x + width / 2 for x in xs], ours, width, label=run.variant,
                              color="#2a6fb0")  # fmt: skip
                for bar, ref, our in zip(bars, refs, ours, strict=True):
                    if our > 0:
                        ax.annotate(f"{our:.3g}\n{ref / our:.1f}x",
                                    (bar.get_x() + width / 2, bar.get_height()),
                                    ha="center", va="bottom", fontsize=5.5)  # fmt: skip
            else:
                bars = ax.bar(list(xs), ours, width, label=run.variant, color="#2a6fb0")
                for bar, our in zip(bars, ours, strict=True):
                    ax.annotate(f"{our:.3g}", (bar.get_x() + width / 2, bar.get_height()),
                                ha="center", va="bottom", fontsize=5.5)  # fmt: skip
            ax.margins(y=0.15)
            ax.set_yscale("log")
            ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
            ax.yaxis.set_minor_formatter(NullFormatter())
            ax.set_xticks(list(xs))
            ax.set_xticklabels(names, rotation=60, ha="right", fontsize=7)
            ax.tick_params(axis="y", labelsize=7)
            if col == 0:
                ax.set_ylabel(label, fontsize=8)
            if row == 0:
                ax.set_title(f"shape {shape.spec.name}\n{shape.spec.describe()}", fontsize=8)
    axes[0][0].legend(fontsize=7)
    fig.suptitle(
        f"tinytx bench, {report.target.name} ({run.cpu}), seed {report.seed}\n"
        "exact instructions (unicorn) and modelled cycles (cost table, not silicon)",
        fontsize=9,
    )
    fig.tight_layout()
    with temp_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
