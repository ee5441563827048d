"""``tinytx test-kernels``: bit-exact kernel suites on host or an emulated target."""

from __future__ import annotations

import argparse
from pathlib import Path

from tinytx.core.resources import BUILD_DIR_HELP, resolve_build_dir
from tinytx.core.targets import load_targets
from tinytx.toolchain import kernel_tests as kt


def add_parser(sub: argparse._SubParsersAction, name: str, help_text: str) -> None:
    p = sub.add_parser(
        name,
        help=help_text,
        description=help_text + ". Every case's output is compared byte for byte with "
        "the golden model; the exit code is non-zero on any mismatch.",
    )
    p.add_argument(
        "--target",
        action="append",
        choices=[*load_targets(), "all"],
        help="target to run on (repeatable; default: host)",
    )
    p.add_argument(
        "--kernels",
        choices=["ref", "arm", "riscv"],
        help="kernel variant (default: each target's own, e.g. arm on m4/m7)",
    )
    p.add_argument("--seed", type=int, default=kt.DEFAULT_SEED, help="vector seed")
    p.add_argument("--cases", type=int, default=kt.DEFAULT_CASES, help="cases per kernel")
    p.add_argument("--kernel", action="append", help="only this kernel (repeatable)")
    p.add_argument("--build-dir", type=Path, help=BUILD_DIR_HELP)
    p.add_argument("-v", "--verbose", action="store_true", help="print the runner's output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    args.build_dir = resolve_build_dir(args.build_dir)
    if args.cases < 1:
        raise ValueError(f"--cases: must be >= 1, got {args.cases}")
    names = args.target or ["host"]
    if "all" in names:
        names = list(load_targets())
    vectors = args.build_dir / "vectors" / f"seed{args.seed}-n{args.cases}.bin"
    count = kt.write_vectors(vectors, args.seed, args.cases, args.kernel)
    print(f"{count} cases (seed {args.seed}) -> {vectors}")
    status = 0
    for name in names:
        report = kt.run_suite(name, vectors, args.build_dir, kernels=args.kernels)
        if args.verbose:
            print(report.output)
        for line in report.failures[:20]:
            print(f"  {line}")
        for s in report.summaries.values():
            print(f"{name:<6} {s.kernel:<11} passed {s.passed:>5}  failed {s.failed:>3}")
        ok = report.complete and report.total_failed == 0 and report.returncode == 0
        verdict = "OK" if ok else f"FAILED (exit {report.returncode})"
        totals = f"{report.total_passed} passed, {report.total_failed} failed"
        print(f"{name:<6} total: {totals}: {verdict}")
        status |= 0 if ok else 1
    return status
