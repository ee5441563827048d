"""``tinytx bench``: per-kernel exact instructions and modelled cycles on emulated Cortex-M."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tinytx.paths import DEFAULT_BUILD_DIR, TESTS_DIR

# Kept here (not imported from tinytx.bench) so that `tinytx --help` stays light.
DEFAULT_BUDGET_FILE = TESTS_DIR / "bench" / "budgets.json"
DEFAULT_SEED = 7


def add_parser(sub: argparse._SubParsersAction, name: str, help_text: str) -> None:
    p = sub.add_parser(
        name,
        help=help_text,
        description=help_text + ". Each kernel of one MHSA block and the whole block run "
        "under unicorn on calibrated data and are checked against the golden model. "
        "Instruction counts are exact; modelled cycles come from the cost tables in "
        "scripts/tinytx/bench/cost_tables.yaml (see docs/benchmarks.md).",
    )
    p.add_argument(
        "--target",
        default="m4",
        help="emulated Cortex-M target: m4 or m7 (default: m4); rv32x8: instructions per "
        "hart of the riscv kernels on an 8-core RV32 cluster (see docs/benchmarks.md)",
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
        default=DEFAULT_BUDGET_FILE,
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
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of the random data")
    p.add_argument("--build-dir", type=Path, default=DEFAULT_BUILD_DIR)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.target == "rv32x8":
        from tinytx.bench.rv32x8 import DEFAULT_TILE, run_command

        if args.tile is None:
            args.tile = DEFAULT_TILE
        return run_command(args)
    if args.tile is not None and args.tile < 1:
        raise ValueError(f"--tile: must be >= 1, got {args.tile}")
    if args.speedup:
        raise ValueError("--speedup: only with --target rv32x8")
    from tinytx.bench import budget, outputs
    from tinytx.bench.cases import BenchMismatch
    from tinytx.bench.run import parse_shapes, run_bench

    specs = parse_shapes(args.shape)
    if args.total and len(specs) != 1:
        raise ValueError(f"--total: needs exactly one --shape, got {len(specs)}")
    if args.check_budget and args.update_budget:
        raise ValueError("--check-budget and --update-budget exclude each other")
    if args.json == "":
        raise ValueError("--json: needs a file name or -")
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
            tile=args.tile,
        )
    except BenchMismatch as exc:
        print(f"tinytx bench: FAILED: {exc}", file=sys.stderr)
        return 1
    status = 0
    if args.json == "-":
        print(outputs.dumps_json(result))
    else:
        print(outputs.table(result))
        if args.json:
            outputs.write_json(result, Path(args.json))
            print(f"JSON: {args.json}")
    if args.plot:
        outputs.plot(result, args.plot)
        print(f"plot: {args.plot}", file=sys.stderr)
    if args.update_budget:
        n = budget.update_budgets(args.budget, result.run, args.seed, result.compiler)
        print(f"budget: wrote {n} budgets to {args.budget}", file=sys.stderr)
    if args.check_budget:
        check = budget.check_budgets(args.budget, result.run, args.seed, result.compiler)
        for entry in check.failures:
            print(f"tinytx bench: {entry.message()}", file=sys.stderr)
        if check.ok:
            print(
                f"budget: OK, none of the {len(check.entries)} counts is more than "
                f"{100 * budget.TOLERANCE:.0f} % over its budget in {args.budget}",
                file=sys.stderr,
            )
            if check.lowerable:
                print(
                    f"budget: {len(check.lowerable)} counts are more than "
                    f"{100 * budget.TOLERANCE:.0f} % under budget; lower them with "
                    "--update-budget",
                    file=sys.stderr,
                )
        else:
            print(
                f"tinytx bench: budget check FAILED: {len(check.failures)} of "
                f"{len(check.entries)} counts over budget or without one ({args.budget})",
                file=sys.stderr,
            )
            status = 1
    if args.total:
        shape = result.run.shapes[0]
        print(shape.dft.instructions if shape.dft is not None else shape.total_instructions)
    return status
