"""``tinytx plan``: does an attention block fit a board, and with which DFT tile size?"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tinytx.cli import checks
from tinytx.cli.checks import write_output, writing
from tinytx.cli.commands.convert import add_sparse_option, add_tflite_arith_option
from tinytx.cli.output import out, progress
from tinytx.core.atomic import temp_path
from tinytx.core.errors import UserInputError
from tinytx.core.resources import BUILD_DIR_HELP, resolve_build_dir


def add_parser(sub: argparse._SubParsersAction, name: str, help_text: str) -> None:
    p = sub.add_parser(
        name,
        help=help_text,
        description=help_text + ". Prints the layer-wise and depth-first tiled (DFT) memory "
        "peaks for every tile size x, the candidate schedules (layer-wise, DFT, with and "
        "without FWSA) with their arenas and prices (the board's cost formulas, or --costs) "
        "and the chosen one (the fastest that fits, as tinytx convert chooses), the arena "
        "and the weights against the board. Exit status: 0 fits, 1 does not fit, 2 bad "
        "input. See docs/memory-planning.md.",
    )
    p.add_argument("model", nargs="?", help="a shape (A..D or S,E,P,H) or a model (.onnx, .tflite)")
    p.add_argument("--shape", help="A, B, C, D or S,E,P,H (sequence, embedding, head dim, heads)")
    p.add_argument("--board", required=True, help="a board of boards/boards.yaml")
    p.add_argument("--tile", type=int, metavar="N", help="use this tile size x instead of choosing")
    p.add_argument(
        "--fwsa",
        choices=["auto", "on", "off"],
        default="auto",
        help="fuse Q/K weights: auto (when P >= E), on or off (default: auto)",
    )
    add_sparse_option(p)
    add_tflite_arith_option(p)
    p.add_argument(
        "--reserve",
        type=int,
        metavar="BYTES",
        help="RAM of the arena's region kept for stack, RTOS and application "
        "(default: the board's, boards/boards.yaml)",
    )
    p.add_argument(
        "--keep-input",
        action="store_true",
        help="the block's input stays live after it (e.g. for a residual add)",
    )
    p.add_argument(
        "--costs",
        type=Path,
        metavar="FILE",
        help='JSON {"<x>": instructions, ...} of measured DFT costs per tile size',
    )
    p.add_argument(
        "--measure",
        choices=["m4", "m7"],
        metavar="TARGET",
        help="measure the DFT block's exact instructions on an emulated Cortex-M "
        "(m4, m7) for a few fitting tile sizes and choose the fastest; also "
        "measures the attention-score part with and without FWSA",
    )
    p.add_argument(
        "--kernels",
        choices=["arm", "ref"],
        help="kernel variant: its scratch sizes and cost formulas, and the kernels of "
        "--measure and --verify (default: the board's)",
    )
    p.add_argument(
        "--cores",
        type=int,
        metavar="N",
        help="cores the kernels run on, whose scratch sizes count (default: the board's)",
    )
    p.add_argument("--all-tiles", action="store_true", help="print every tile size 1..S")
    p.add_argument("--json", metavar="FILE", help="write the plan as JSON (- for stdout)")
    p.add_argument("--plot", type=Path, metavar="PNG", help="write the memory timeline as a PNG")
    p.add_argument(
        "--verify",
        action="store_true",
        help="run the planned block on QEMU Cortex-M4 with a canary-filled arena and "
        "check that the measured high-water mark equals the planned arena",
    )
    p.add_argument("--build-dir", type=Path, help=BUILD_DIR_HELP)
    p.set_defaults(func=run)


def _load_costs(path: Path | None) -> dict[int, float] | None:
    if path is None:
        return None
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise UserInputError(f"--costs: cannot read {path} ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise UserInputError(
            f"--costs: {path} is not JSON ({exc.msg}, line {exc.lineno})"
        ) from None
    if isinstance(data, dict) and isinstance(data.get("tile_costs"), dict):
        data = data["tile_costs"]
    if not isinstance(data, dict):
        raise UserInputError(f'--costs: {path}: expected an object {{"<x>": instructions}}')
    try:
        return {int(k): float(v) for k, v in data.items()}
    except (TypeError, ValueError):
        raise UserInputError(f"--costs: {path}: keys must be tile sizes, values numbers") from None


def _report(text: str, data: dict, dest: str | None) -> None:
    """Print the text report (unless the JSON goes to stdout) and write the JSON."""
    if dest != "-":
        out(text, end="")
    if not dest:
        return
    text = json.dumps(data, indent=2) + "\n"
    if dest == "-":
        out(text, end="")
        return
    write_output(dest, text, "--json")


def run(args: argparse.Namespace) -> int:
    args.build_dir = resolve_build_dir(args.build_dir)
    from tinytx.core.boards import get_board
    from tinytx.core.plan.budget import ram_budget

    if args.model and args.shape:
        raise UserInputError("give the shape either as the argument or with --shape, not both")
    target = args.model or args.shape
    if not target:
        raise UserInputError(
            "nothing to plan: give a shape (A..D or S,E,P,H) or a model (.onnx, .tflite)"
        )
    checks.json_dest(args.json)
    checks.output_file(args.plot, "--plot")
    checks.board(args.board)
    if args.measure or args.verify:
        checks.build_dir(args.build_dir)
    from tinytx.core.plan.block import plan_block, render_text, to_json
    from tinytx.toolchain.bench.run import parse_shape

    budget = ram_budget(args.board, args.reserve)
    try:
        spec = parse_shape(target)
    except ValueError:
        if not (args.model and (target.endswith((".onnx", ".tflite")) or Path(target).is_file())):
            raise
        from tinytx.core.codegen.model_plan import plan_model, render_text

        result = plan_model(
            Path(target),
            budget,
            args.fwsa,
            args.tile,
            args.kernels,
            args.cores,
            args.sparse,
            args.tflite_arith,
        )
        _report(render_text(result), result, args.json)
        return 0 if result["fits"] else 1
    board = get_board(args.board)
    from tinytx.core.codegen.project import default_kernels, planned_scratch

    kernels = args.kernels or default_kernels(args.board)
    cores = planned_scratch(kernels, args.cores, args.board).cores

    def plan_with(costs: dict[int, float] | None):
        return plan_block(
            spec.name,
            spec.shape,
            budget,
            board.flash_size,
            args.fwsa,
            args.tile,
            costs,
            args.keep_input,
            kernels=kernels,
            cpu=board.cpu,
            cores=cores,
        )

    plan = plan_with(_load_costs(args.costs))
    measured = None
    if args.measure:
        progress(
            f"measuring the attention block on {args.measure} ({kernels} kernels): building the "
            "bench firmware, counting every candidate tile under unicorn ..."
        )
        measured = _measure(plan, args.measure, kernels, args.build_dir)
        plan = plan_with({int(k): v for k, v in measured["tile_costs"].items()})
    data = to_json(plan)
    if measured:
        data["measured"] = measured
        data["tile_costs"] = measured["tile_costs"]
    if args.verify:
        progress(
            f"verifying the arena on QEMU m4 ({kernels} kernels): building the canary "
            "firmware, running each schedule ..."
        )
        data["verify"] = _verify(plan, args.build_dir, kernels)
    text = render_text(plan, args.all_tiles)
    if measured:
        text += _measured_text(measured) + "\n"
    for v in data.get("verify", ()):
        text += (
            f"verify on QEMU m4: {v['schedule']}: planned {v['planned']:,} bytes, "
            f"measured high-water {v['highwater']:,}: {'OK' if v['ok'] else 'FAILED'}\n"
        )
    _report(text, data, args.json)
    if args.plot:
        from tinytx.core.plan.timeline import write_plot

        with writing(args.plot, "--plot"), temp_path(args.plot) as tmp:
            write_plot(tmp, plan)
        progress(f"plot: {args.plot}")
    if args.verify and not all(v["ok"] for v in data["verify"]):
        return 1
    return 0 if plan.fits else 1


def _verify(plan, build_dir: Path, kernels: str | None = None) -> list[dict]:
    from tinytx.toolchain.canary import CAPACITY, CanarySpec, run_canary

    specs = [
        CanarySpec(
            plan.shape, schedule, tile, plan.fwsa.fuse, plan.keep_input, align=plan.budget.align
        )
        for schedule, tile in (("layerwise", None), ("dft", plan.tile_rows))
    ]
    specs = [s for s in specs if s.plan().arena_bytes <= CAPACITY]
    results = run_canary(specs, "m4", kernels, build_dir)
    return [
        {
            "schedule": r.spec.schedule + (f" x={r.spec.tile_rows}" if r.spec.tile_rows else ""),
            "planned": r.planned,
            "highwater": r.highwater,
            "match": r.match,
            "ok": r.ok,
        }
        for r in results
    ]


def _candidate_tiles(plan) -> list[int]:
    """A few fitting tile sizes worth measuring: powers of two, and the largest fitting
    size overall, even and a multiple of 4 (the DSP kernels work on pairs of rows)."""
    fitting = [x for x, b in plan.choice.arenas.items() if b <= plan.budget.budget]
    if not fitting:
        return [plan.tile_rows]
    top = max(fitting)
    picks = {top, *(x for x in fitting if x & (x - 1) == 0 and x >= top // 8)}
    for m in (2, 4):
        multiples = [x for x in fitting if x % m == 0]
        if multiples:
            picks.add(max(multiples))
    return sorted(picks)


def _measure(plan, target: str, kernels: str | None, build_dir: Path) -> dict:
    from tinytx.toolchain.bench.fwsa_cases import measure_attention

    tiles = _candidate_tiles(plan)
    fused = plan.fwsa.fuse
    fig = measure_attention(
        plan.shape,
        target,
        kernels,
        tiles=() if fused else tiles,
        fused_tiles=tiles if fused else (),
        build_root=build_dir,
    )
    return {
        "target": target,
        "kernels": fig.variant,
        "instructions": {k: m.instructions for k, m in fig.measured.items()},
        "score_part_unfused": fig.score_unfused,
        "score_part_fused": fig.score_fused,
        "tile_costs": {str(x): c for x, c in fig.tile_costs(fused).items()},
    }


def _measured_text(m: dict) -> str:
    ins = m["instructions"]
    lines = [
        f"measured on {m['target']} ({m['kernels']} kernels), exact instructions:",
        f"  attention-score part: unfused (q_proj + k_proj + qk_softmax) "
        f"{m['score_part_unfused']:,}, fused (t_proj + qk_softmax) {m['score_part_fused']:,}: "
        f"{m['score_part_unfused'] / m['score_part_fused']:.2f}x",
        f"  whole block, layer-wise: mhsa {ins['mhsa']:,}, fwsa {ins['fwsa']:,}",
    ]
    lines += [f"  DFT x={x}: {c:,}" for x, c in m["tile_costs"].items()]
    return "\n".join(lines)
