"""Run the dense model and every pruned variant of a sample on an emulated board with
today's dense kernels; write ``pruned/instructions.json`` and refresh ``pruned/README.md``.

    .venv/bin/python samples/common_model/count_pruned.py radar [--board nucleo_l476rg_emu]

Each model goes through ``tinytx run <model.onnx> --board <board>`` (convert, build,
QEMU run of the committed test inputs against the golden executor, unicorn count of the
exact instructions of one inference). A variant's count equal to the dense one's shows
that the zeros alone buy nothing on the dense kernels. No torch.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from pruned_readme import VARIANT_NAMES, write_readme_files

SAMPLES = Path(__file__).resolve().parents[1]
COUNT = re.compile(r"instructions \(exact, unicorn[^)]*\): ([\d,]+)")


def run(model: Path, board: str, build: Path) -> dict:
    tinytx = Path(sys.executable).with_name("tinytx")
    cmd = [str(tinytx), "run", str(model), "--board", board, "--build-dir", str(build)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    lines = proc.stdout.strip().splitlines()
    found = COUNT.search(proc.stdout)
    if proc.returncode != 0 or not lines or lines[-1] != "MATCH" or found is None:
        raise RuntimeError(f"{model}: tinytx run failed:\n{proc.stdout[-2000:]}{proc.stderr}")
    return {"match": True, "instructions": int(found.group(1).replace(",", ""))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sample")
    ap.add_argument("--board", default="nucleo_l476rg_emu")
    args = ap.parse_args()
    d = SAMPLES / args.sample / "model"
    models = {"dense": d / "model.onnx"}
    models |= {v: d / "pruned" / v / "model.onnx" for v in VARIANT_NAMES}
    counts = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in models.items():
            counts[name] = run(path, args.board, Path(tmp) / name)
            print(f"{args.sample}/{name}: {counts[name]['instructions']:,} instructions, MATCH")
    result = {
        "board": args.board,
        "command": f"tinytx run <model.onnx> --board {args.board}",
        "kernels": "the board's default (dense)",
        "models": counts,
    }
    (d / "pruned" / "instructions.json").write_text(json.dumps(result, indent=2) + "\n")
    write_readme_files(d / "pruned", args.sample)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
