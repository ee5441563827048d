"""``tinytx bench``: per-kernel exact instructions and modelled cycles on emulated Cortex-M."""

from __future__ import annotations

import argparse
from pathlib import Path

from tinytx.cli import checks
from tinytx.cli.checks import write_output, writing
from tinytx.cli.exitcodes import ExitCode
from tinytx.cli.output import failed, inf, out, progress
from tinytx.core.errors import UserInputError
from tinytx.core.resources import BUILD_DIR_HELP, refuse_installed_write, resolve_build_dir

# Kept here (not imported from tinytx.toolchain.bench) so that `tinytx --help` stays light.
DEFAULT_SEED = 7


def add_parser(sub: argparse._SubParsersAction, name: str, help_text: str) -> None:
    p = sub.add_parser(
        name,
        help=help_text,
        description=help_text + ". Each kernel of one MHSA block and the whole block run "
        "under unicorn on calibrated data and are checked against the golden model. "
        "Instruction counts are exact; modelled cycles come from the cost tables in "
        "scripts/tinytx/toolchain/bench/cost_tables.yaml (see docs/benchmarks.md).",
    )
    p.add_argument(
        "--target",
        help="emulated Cortex-M target: m4 or m7 (default: m4; with --models: both); "
        "rv32x8: instructions per hart of the riscv kernels on an 8-core RV32 cluster "
        "(see docs/benchmarks.md)",
    )
    p.add_argument(
        "--fit-costs",
        action="store_true",
        help="measure the attention kernels (layer-wise, DFT, FWSA) on a set of shapes and "
        "tile sizes and re-fit their cost formulas in "
        "scripts/tinytx/core/plan/attention_costs.yaml "
        "(the table of --target/--kernels)",
    )
    p.add_argument(
        "--check-costs",
        action="store_true",
        help="compare the cost formulas of --target/--kernels with measurements of the bench "
        "shapes A-D; exit 1 when one is outside its margin",
    )
    p.add_argument(
        "--models",
        action="store_true",
        help="whole models instead of the MHSA block: exact instructions of one inference of "
        "each sample (radar, eeg, ecg) with its board profile's plan; with --check-budget / "
        "--update-budget, the 'models' section of the budget file",
    )
    p.add_argument(
        "--sparse",
        action="store_true",
        help="dense vs sparse weights: exact instructions, ratio and weight bytes of the "
        "sample models' pruned linear/conv layers at 75 %% BLOCK4, 90 %% and 50 %% "
        "unstructured sparsity; with --check-budget / --update-budget, the 'sparse' section "
        "of the budget file (the check also fails below the minimum ratios); with "
        "--fit-costs, re-fit scripts/tinytx/core/plan/sparse_costs.yaml",
    )
    p.add_argument(
        "--shape",
        action="extend",
        nargs="+",
        metavar="SHAPE",
        help="A, B, C, D, or S,E,P,H (sequence, embedding, head dim, heads); "
        "repeatable (default: A B C D)",
    )
    p.add_argument(
        "--kernels",
        choices=["arm", "ref", "riscv"],
        help="kernel variant to measure (default: the target's, arm; rv32x8: riscv)",
    )
    p.add_argument(
        "--exp-table",
        action="store_true",
        help="arm kernels built with the table-driven softmax exp (TINYTX_ARM_EXP_TABLE, "
        "64 KiB more flash); not with --update-budget (the budgets are table-off)",
    )
    p.add_argument(
        "--no-compare",
        action="store_true",
        help="do not also run the reference kernels (no 'x ref' ratios; faster)",
    )
    p.add_argument("--json", metavar="FILE", help="write the results as JSON to FILE (- = stdout)")
    p.add_argument("--plot", metavar="PNG", type=Path, help="write a bar chart to PNG")
    p.add_argument(
        "--total",
        action="store_true",
        help="print, as the last line, the exact instructions of one whole MHSA block "
        "(bare integer; needs exactly one --shape): the layer-wise block, or with --tile "
        "the depth-first one",
    )
    p.add_argument(
        "--budget",
        type=Path,
        metavar="FILE",
        help="instruction budget file (default: tests/bench/budgets.json)",
    )
    p.add_argument(
        "--check-budget",
        action="store_true",
        help="fail (exit 1) if a count exceeds its budget by more than 2 %%",
    )
    p.add_argument(
        "--update-budget",
        action="store_true",
        help="write this run's counts into the budget file",
    )
    p.add_argument(
        "--speedup",
        action="store_true",
        help="rv32x8: print, as the last line, the 1-to-8-hart critical-path speedup of the "
        "whole MHSA block (bare decimal; needs exactly one --shape)",
    )
    p.add_argument(
        "--tile",
        type=int,
        help="query rows per tile of the depth-first MHSA, tinytx_mhsa_dft_s8 (rv32x8: "
        "default 8); m4/m7: also measure that block at min(N, S) rows per tile (its row "
        "follows each shape's table; with --total, the last line is its count)",
    )
    p.add_argument("--seed", type=checks.seed, default=DEFAULT_SEED, help="seed of the random data")
    p.add_argument("--build-dir", type=Path, help=BUILD_DIR_HELP)
    p.set_defaults(func=run)


def check_outputs(args: argparse.Namespace) -> None:
    """What the run will write, and the target's name, before the (long) run."""
    checks.target(args.target)
    checks.json_dest(args.json)
    checks.output_file(args.plot, "--plot")
    if args.update_budget:
        checks.output_file(args.budget, "--budget")


def run(args: argparse.Namespace) -> int:
    args.build_dir = resolve_build_dir(args.build_dir)
    checks.build_dir(args.build_dir)
    if args.budget is None:
        from tinytx.toolchain.bench.budget import default_budget_file

        args.budget = default_budget_file()
    if args.update_budget:
        refuse_installed_write(args.budget, "--update-budget")
    check_outputs(args)
    if args.exp_table and (args.models or args.fit_costs or args.check_costs
                           or args.target == "rv32x8"):  # fmt: skip
        raise UserInputError("--exp-table: only for the MHSA block bench on m4/m7")
    if args.models:
        return run_models(args)
    if args.sparse:
        return run_sparse_command(args)
    if args.fit_costs or args.check_costs:
        return run_costs(args)
    args.target = args.target or "m4"
    if args.target == "rv32x8":
        from tinytx.toolchain.bench.rv32x8 import DEFAULT_TILE

        if args.tile is None:
            args.tile = DEFAULT_TILE
        return run_rv32x8_command(args)
    if args.tile is not None and args.tile < 1:
        raise UserInputError(f"--tile: must be >= 1, got {args.tile}")
    if args.speedup:
        raise UserInputError("--speedup: only with --target rv32x8")
    from tinytx.toolchain.bench import budget, outputs
    from tinytx.toolchain.bench.cases import BenchMismatch
    from tinytx.toolchain.bench.run import parse_shapes, run_bench

    specs = parse_shapes(args.shape)
    if args.total and len(specs) != 1:
        raise UserInputError(f"--total: needs exactly one --shape, got {len(specs)}")
    if args.check_budget and args.update_budget:
        raise UserInputError("--check-budget and --update-budget exclude each other")
    if args.exp_table and args.update_budget:
        raise UserInputError("--exp-table: the budgets are recorded without the table")
    if args.check_budget:
        budget.check_file(args.budget, args.seed)  # before the run: fail fast

    try:
        result = run_bench(
            args.target,
            specs,
            args.kernels,
            seed=args.seed,
            build_root=args.build_dir,
            compare=not args.no_compare,
            progress=progress,
            tile=args.tile,
            exp_table=args.exp_table,
        )
    except BenchMismatch as exc:
        failed(str(exc))
        return ExitCode.FAILED
    status = 0
    if args.json == "-":
        out(outputs.dumps_json(result))
    else:
        out(outputs.table(result))
        if args.json:
            with writing(args.json, "--json"):
                outputs.write_json(result, Path(args.json))
            out(f"JSON: {args.json}")
    if args.plot:
        with writing(args.plot, "--plot"):
            outputs.plot(result, args.plot)
        progress(f"plot: {args.plot}")
    if args.update_budget:
        n = budget.update_budgets(args.budget, result.run, args.seed, result.compiler)
        progress(f"budget: wrote {n} budgets to {args.budget}")
    if args.check_budget:
        check = budget.check_budgets(args.budget, result.run, args.seed, result.compiler)
        for entry in check.failures:
            progress(f"tinytx bench: {entry.message()}")
        if check.ok:
            progress(
                f"budget: OK, none of the {len(check.entries)} counts is more than "
                f"{100 * budget.TOLERANCE:.0f} % over its budget in {args.budget}"
            )
            if check.lowerable:
                progress(
                    f"budget: {len(check.lowerable)} counts are more than "
                    f"{100 * budget.TOLERANCE:.0f} % under budget; lower them with "
                    "--update-budget"
                )
        else:
            progress(
                f"tinytx bench: budget check FAILED: {len(check.failures)} of "
                f"{len(check.entries)} counts over budget or without one ({args.budget})"
            )
            status = 1
    if args.total:
        shape = result.run.shapes[0]
        out(str(shape.dft.instructions if shape.dft is not None else shape.total_instructions))
    return status


def run_models(args: argparse.Namespace) -> int:
    """``tinytx bench --models``: whole-model counts, and their budgets."""
    import json

    from tinytx.toolchain.bench import budget
    from tinytx.toolchain.bench.models import PROFILES, measure_models, table

    if args.check_budget and args.update_budget:
        raise UserInputError("--check-budget and --update-budget exclude each other")
    if args.exp_table and args.update_budget:
        raise UserInputError("--exp-table: the budgets are recorded without the table")
    for name, value in (("--shape", args.shape), ("--total", args.total),
                        ("--plot", args.plot), ("--speedup", args.speedup)):  # fmt: skip
        if value:
            raise UserInputError(f"{name}: not with --models")
    targets = [args.target] if args.target else list(PROFILES)
    status = 0
    results = []
    for target in targets:
        progress(
            f"measuring the sample models on {target}: converting, building one firmware, "
            "counting one inference of each under unicorn ..."
        )
        res = measure_models(target, args.build_dir)
        results.append(res)
        counts = {m.model: m.instructions for m in res.models}
        if args.json != "-":
            inf(table(res))
        if args.update_budget:
            n = budget.update_model_budgets(
                args.budget, target, res.kernels, counts, res.compiler, args.seed
            )
            progress(f"budget: wrote {n} whole-model budgets to {args.budget}")
        if args.check_budget:
            check = budget.check_model_budgets(
                args.budget, target, res.kernels, counts, res.compiler
            )
            for entry in check.failures:
                progress(f"tinytx bench: {entry.message()}")
            if check.ok:
                progress(
                    f"budget: OK, none of the {len(check.entries)} whole-model counts on "
                    f"{target} is more than {100 * budget.TOLERANCE:.0f} % over its budget"
                )
            else:
                progress(
                    f"tinytx bench: budget check FAILED: {len(check.failures)} of "
                    f"{len(check.entries)} whole-model counts on {target} over budget or "
                    f"without one ({args.budget})"
                )
                status = 1
    if args.json:
        data = [
            {
                "target": r.target,
                "board": r.board,
                "kernels": r.kernels,
                "compiler": r.compiler,
                "models": [
                    {
                        "model": m.model,
                        "macs": m.macs,
                        "instructions": m.instructions,
                        "modelled_cycles": m.modelled_cycles,
                        "arena_bytes": m.arena_bytes,
                    }
                    for m in r.models
                ],
            }
            for r in results
        ]
        text = json.dumps(data, indent=2) + "\n"
        if args.json == "-":
            out(text, end="")
        else:
            write_output(args.json, text, "--json")
    return status


def run_sparse_command(args: argparse.Namespace) -> int:
    """``tinytx bench --sparse``: dense vs sparse weights on the sample models' layers."""
    import json

    from tinytx.toolchain.bench import budget
    from tinytx.toolchain.bench import sparse as sp
    from tinytx.toolchain.bench.cases import BenchMismatch

    if args.check_budget and args.update_budget:
        raise UserInputError("--check-budget and --update-budget exclude each other")
    for name, value in (("--shape", args.shape), ("--total", args.total), ("--plot", args.plot),
                        ("--speedup", args.speedup), ("--tile", args.tile),
                        ("--check-costs", args.check_costs)):  # fmt: skip
        if value:
            raise UserInputError(f"{name}: not with --sparse")
    target = args.target or "m4"
    if target not in ("m4", "m7"):
        raise UserInputError(f"--target: --sparse measures m4 or m7, not {target!r}")
    if args.fit_costs:
        refuse_installed_write(sp.cost_file(), "--fit-costs")
    try:
        report = sp.run_sparse(target, args.kernels, args.build_dir, args.seed,
                               progress=progress)  # fmt: skip
    except BenchMismatch as exc:
        failed(str(exc))
        return ExitCode.FAILED
    if args.json == "-":
        out(json.dumps(sp.to_json(report), indent=2))
    else:
        out(sp.table(report))
        if args.json:
            write_output(args.json, json.dumps(sp.to_json(report), indent=2) + "\n", "--json")
    if args.fit_costs:
        key = sp.write_costs(report)
        progress(f"cost formulas {key}: fitted on {len(report.results)} layers, written")
    for line in report.goal_misses():
        progress(f"below the goal ratio: {line}")
    status = 0
    if args.update_budget:
        floors = report.floors()
        entries = {k: {**v, **floors[k]} for k, v in report.counts().items()}
        n = budget.update_sparse_budgets(args.budget, target, report.variant, entries,
                                         report.compiler, args.seed)  # fmt: skip
        progress(f"budget: wrote {n} sparse-weight budgets to {args.budget}")
    if args.check_budget:
        budget.check_file(args.budget, args.seed)
        check = budget.check_sparse_budgets(args.budget, target, report.variant,
                                            report.counts(), report.compiler)  # fmt: skip
        for entry in check.failures:
            progress(f"tinytx bench: {entry.message()}")
        ratios = report.ratio_failures(budget.sparse_floors(args.budget, target, report.variant))
        for line in ratios:
            progress(f"tinytx bench: ratio below its minimum: {line}")
        if check.ok and not ratios:
            progress(
                f"budget: OK, none of the {len(check.entries)} sparse-weight counts is more "
                f"than {100 * budget.TOLERANCE:.0f} % over its budget, no ratio below its floor"
            )
        else:
            progress(
                f"tinytx bench: sparse budget check FAILED: {len(check.failures)} counts over "
                f"budget or without one, {len(ratios)} ratios below their floor"
            )
            status = 1
    return status


def run_costs(args: argparse.Namespace) -> int:
    """``tinytx bench --fit-costs`` / ``--check-costs``: the attention cost formulas."""
    from tinytx.core.plan.costs import MARGIN, load_tables
    from tinytx.core.targets import get_target
    from tinytx.core.workloads import SHAPES
    from tinytx.toolchain.bench import fit_costs as fc
    from tinytx.toolchain.bench.firmware import compiler_version

    target = args.target or "m4"
    variant = get_target(target).check_kernels(args.kernels or get_target(target).default_kernels)
    key = f"{target}/{variant}"

    if args.fit_costs:
        refuse_installed_write(fc.COST_FILE, "--fit-costs")
        points = fc.measure_points(target, variant, fc.FIT_SHAPES, args.build_dir,
                                   seed=args.seed, progress=progress)  # fmt: skip
        compiler = compiler_version(get_target(target))
        fc.write_table(key, compiler, fc.fit(points), fc.FIT_SHAPES)
        inf(f"cost formulas {key}: fitted on {len(points)} measurements, written")
        bench = [p for p in points if p.shape in SHAPES.values()]
    else:
        bench = fc.measure_points(target, variant, list(SHAPES.values()), args.build_dir,
                                  few_tiles=True, seed=args.seed, progress=progress)  # fmt: skip
    table = load_tables().get(key)
    if table is None:
        raise UserInputError(f"--check-costs: no cost table {key} (fit one with --fit-costs)")
    rows = fc.check(table, bench)
    for line in fc.report(rows):
        inf(line)
    bad = [r for r in rows if abs(r.error) > MARGIN[r.point.kernel]]
    margins = ", ".join(f"{k} {100 * v:g} %" for k, v in MARGIN.items())
    if bad:
        progress(f"tinytx bench: {len(bad)} of {len(rows)} formulas outside their margin "
              f"({margins})")  # fmt: skip
        return 1
    inf(f"cost formulas {key}: all {len(rows)} within their margin ({margins})")
    return 0


# options of the Cortex-M bench that the rv32x8 bench does not take
_RV32X8_UNSUPPORTED = {
    "total": "--total",
    "check_budget": "--check-budget",
    "update_budget": "--update-budget",
}


def run_rv32x8_command(args: argparse.Namespace) -> int:
    """``tinytx bench --target rv32x8 ...``: instructions per hart on the 8-core cluster."""
    import json

    from tinytx.toolchain.bench.cases import BenchMismatch
    from tinytx.toolchain.bench.run import parse_shapes
    from tinytx.toolchain.bench.rv32x8 import (
        HARTS,
        TARGET,
        VARIANT,
        plot,
        run_rv32x8,
        table,
        to_json,
    )

    for attr, flag in _RV32X8_UNSUPPORTED.items():
        if getattr(args, attr, False):
            raise UserInputError(f"{flag}: not available with --target {TARGET} (use --speedup)")
    if getattr(args, "kernels", None) not in (None, VARIANT):
        raise UserInputError(f"--kernels: --target {TARGET} measures the {VARIANT} kernels only")
    specs = parse_shapes(args.shape)
    if args.speedup and len(specs) != 1:
        raise UserInputError(f"--speedup: needs exactly one --shape, got {len(specs)}")
    if args.json == "":
        raise UserInputError("--json: needs a file name or -")
    try:
        report = run_rv32x8(specs, args.seed, args.build_dir, HARTS, args.tile, progress=progress)
    except BenchMismatch as exc:
        failed(str(exc))
        return ExitCode.FAILED
    if args.json == "-":
        out(json.dumps(to_json(report), indent=2))
    else:
        out(table(report))
        if args.json:
            write_output(args.json, json.dumps(to_json(report), indent=2) + "\n", "--json")
            out(f"JSON: {args.json}")
    if args.plot:
        plot(report, args.plot)
        progress(f"plot: {args.plot}")
    if args.speedup:
        out(f"{report.shapes[0].mhsa_speedup:.3f}")
    return ExitCode.OK
