"""Run the dense model and every pruned variant of a sample on an emulated board with
today's dense kernels; write ``pruned/instructions.json`` and refresh ``pruned/README.md``.

    .venv/bin/python samples/common_model/count_pruned.py radar [--board nucleo_l476rg_emu]
    .venv/bin/python samples/common_model/count_pruned.py zoo     # tests/zoo/models/pruned

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
ZOO = SAMPLES.parent / "tests" / "zoo"
BEGIN, END = "<!-- count_pruned.py: begin -->", "<!-- count_pruned.py: end -->"
COUNT = re.compile(r"instructions \(exact, unicorn[^)]*\): ([\d,]+)")


def run(model: Path, board: str, build: Path, extra: tuple[str, ...] = ()) -> dict:
    tinytx = Path(sys.executable).with_name("tinytx")
    cmd = [str(tinytx), "run", str(model), "--board", board, "--build-dir", str(build), *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    lines = proc.stdout.strip().splitlines()
    found = COUNT.search(proc.stdout)
    if proc.returncode != 0 or not lines or lines[-1] != "MATCH" or found is None:
        raise RuntimeError(f"{model}: tinytx run failed:\n{proc.stdout[-2000:]}{proc.stderr}")
    return {"match": True, "instructions": int(found.group(1).replace(",", ""))}


def zoo_models() -> dict[str, tuple[Path, tuple[str, ...]]]:
    """Each pruned zoo fixture after its dense fixture, with the inputs the zoo's firmware
    tests run (the golden npz's ``float``)."""
    index = json.loads((ZOO / "models" / "pruned" / "index.json").read_text())["fixtures"]
    models: dict[str, tuple[Path, tuple[str, ...]]] = {}
    for f in index:
        dense = f["dense_fixture"]
        models[dense] = (ZOO / "models" / f"{dense}.onnx",
                         ("--inputs", str(ZOO / "golden" / f"{dense}.npz")))  # fmt: skip
        golden = ZOO / "golden" / "pruned" / f"{f['name']}.npz"
        models[f["name"]] = (ZOO / "models" / "pruned" / f"{f['name']}.onnx",
                             ("--inputs", str(golden)))  # fmt: skip
    return models


def sample_models(d: Path) -> dict[str, tuple[Path, tuple[str, ...]]]:
    # a sample that ships calibration.npz converts with fused-weight attention, which the
    # pruned variants (no calibration.npz) cannot have: its dense model is also counted
    # with --fwsa off, the same schedule as theirs
    models: dict[str, tuple[Path, tuple[str, ...]]] = {"dense": (d / "model.onnx", ())}
    if (d / "calibration.npz").is_file():
        models["dense --fwsa off"] = (d / "model.onnx", ("--fwsa", "off"))
    models |= {v: (d / "pruned" / v / "model.onnx", ()) for v in VARIANT_NAMES}
    return models


def zoo_section(result: dict) -> str:
    rows = [
        BEGIN,
        "",
        f"## Instructions on today's dense kernels ({result['board']})",
        "",
        "Exact instructions of one inference (unicorn), `tinytx run <model.onnx> --board "
        f"{result['board']} --inputs <golden npz>` (every input MATCHes the golden executor), "
        "measured by `samples/common_model/count_pruned.py zoo`: the dense kernels multiply "
        "the zeros too.",
        "",
        "| fixture | instructions |",
        "| --- | ---: |",
        *(f"| `{k}` | {v['instructions']:,} |" for k, v in result["models"].items()),
        "",
        END,
    ]
    return "\n".join(rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sample", help="radar, eeg, ecg or zoo")
    ap.add_argument("--board", default="nucleo_l476rg_emu")
    args = ap.parse_args()
    if args.sample == "zoo":
        root, models = ZOO / "models" / "pruned", zoo_models()
    else:
        root = SAMPLES / args.sample / "model" / "pruned"
        models = sample_models(root.parent)
    counts = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, (path, extra)) in enumerate(models.items()):
            counts[name] = run(path, args.board, Path(tmp) / str(i), extra)
            print(f"{args.sample}/{name}: {counts[name]['instructions']:,} instructions, MATCH")
    result = {
        "board": args.board,
        "command": f"tinytx run <model.onnx> --board {args.board}",
        "kernels": "the board's default (dense)",
        "models": counts,
    }
    (root / "instructions.json").write_text(json.dumps(result, indent=2) + "\n")
    if args.sample == "zoo":
        text = (root / "README.md").read_text()
        if BEGIN in text:
            text = text.split(BEGIN)[0].rstrip("\n") + "\n" + text.split(END)[1].lstrip("\n")
        (root / "README.md").write_text(text.rstrip("\n") + "\n\n" + zoo_section(result) + "\n")
    else:
        write_readme_files(root, args.sample)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
