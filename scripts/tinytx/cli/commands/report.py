"""``tinytx report``: memory of a firmware ELF by region, section, category and symbol."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tinytx.cli import checks
from tinytx.cli.checks import write_output, writing
from tinytx.cli.exitcodes import ExitCode
from tinytx.cli.output import err, out, wrn
from tinytx.core.errors import UserInputError


def add_parser(sub: argparse._SubParsersAction, name: str, help_text: str) -> None:
    p = sub.add_parser(
        name,
        help=help_text,
        description=help_text + ". Totals follow GNU size (flash = text + data, RAM = data +"
        " bss); with --board the firmware is checked against the board's memories and the"
        " command exits 1 when it does not fit. See docs/memory-report.md.",
    )
    p.add_argument("elf", type=Path, help="firmware ELF file")
    p.add_argument("--map", type=Path, help="GNU ld map file (default: <elf>.map if present)")
    p.add_argument("--no-map", action="store_true", help="do not look for a map file")
    p.add_argument("--board", help="check against a board of boards/boards.yaml")
    p.add_argument("--json", metavar="FILE", help="write the report as JSON (- for stdout)")
    p.add_argument("--compare", type=Path, metavar="ELF", help="diff against another build")
    p.add_argument("--compare-map", type=Path, metavar="MAP", help="map file of --compare")
    p.add_argument("--plot", type=Path, metavar="PNG", help="write stacked bars as a PNG")
    p.add_argument("--top", type=int, default=10, help="symbols to list (default: 10)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tinytx.core.boards import get_board
    from tinytx.toolchain.report import analyze
    from tinytx.toolchain.report.boardcheck import check_board
    from tinytx.toolchain.report.diff import diff_reports
    from tinytx.toolchain.report.render import report_json, report_text

    if args.top < 0:
        raise UserInputError(f"--top: must be >= 0, got {args.top}")
    if args.map is not None and args.no_map:
        raise UserInputError("--map and --no-map exclude each other")
    checks.board(args.board)
    checks.json_dest(args.json)
    checks.output_file(args.plot, "--plot")
    board = get_board(args.board) if args.board else None
    report = analyze(args.elf, args.map, board=board, auto_map=not args.no_map)
    check = check_board(report.image, board) if board else None
    other = diff = None
    if args.compare is not None:
        other = analyze(args.compare, args.compare_map, board=board, auto_map=not args.no_map)
        diff = diff_reports(report, other)

    for w in report.warnings:
        wrn(w)
    if args.json is None or args.json != "-":
        out(report_text(report, check, diff, args.top), end="")
    if args.json is not None:
        text = json.dumps(report_json(report, check, diff, args.top), indent=2) + "\n"
        if args.json == "-":
            out(text, end="")
        else:
            write_output(Path(args.json), text, "--json")
    if args.plot is not None:
        from tinytx.toolchain.report.plot import write_plot

        with writing(args.plot, "--plot"):
            write_plot(args.plot, report, check, other)
    if check is not None and not check.fits:
        for e in check.errors:
            err(e)
        return ExitCode.FAILED
    return ExitCode.OK
