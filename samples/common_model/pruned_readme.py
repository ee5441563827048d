"""pruned/README.md of a sample: accuracy and sparsity of every pruned variant next to
the dense model, and the instruction counts of count_pruned.py when measured (no torch).
"""

from __future__ import annotations

import json
from pathlib import Path

VARIANT_NAMES = ("u50", "u75", "u90", "b75")


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def readme(name: str, variants: list[dict]) -> str:
    """pruned/README.md: accuracy and sparsity of every variant next to the dense model."""
    dense = variants[0]["dense"]
    rows = [
        "| model | pruning | float (PyTorch) | float ONNX (onnxruntime) | int8 QDQ (onnxruntime) "
        "| int8 zeros, pruned layers | int8 zeros, all weights | zero 1x4 blocks, pruned layers "
        "| `model.onnx` bytes |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| dense (`../model.onnx`) | none | {_pct(dense['accuracy_float_torch'])} "
        f"| {_pct(dense['accuracy_float_onnxruntime'])} "
        f"| {_pct(dense['accuracy_qdq_onnxruntime'])} "
        f"| | | | {dense['model_onnx_bytes']} |",
    ]
    for m in variants:
        pl = [e for e in m["layers"] if e["pruned"]]
        blocks = sum(e["zero_blocks4"] for e in pl) / sum(e["blocks4"] for e in pl)
        structure = "1x4 blocks" if m["pruning"]["structure"] == "block4" else "unstructured"
        rows.append(
            f"| `{m['variant']}/` | {structure} {m['pruning']['amount']:.0%} "
            f"| {_pct(m['accuracy_float_torch'])} | {_pct(m['accuracy_float_onnxruntime'])} "
            f"| {_pct(m['accuracy_qdq_onnxruntime'])} "
            f"| {_pct(m['int8_weight_sparsity']['pruned_layers']['sparsity'])} "
            f"| {_pct(m['int8_weight_sparsity']['all_layers']['sparsity'])} "
            f"| {_pct(blocks)} | {m['model_onnx_bytes']} |"
        )
    names = [m["variant"] for m in variants]
    layer_rows = [
        "| layer (module) | ONNX node | op | ONNX weight shape | "
        + " | ".join(f"{v} zeros" for v in names)
        + " | b75 zero blocks |" * ("b75" in names),
        "| --- | --- | --- | --- |" + " ---: |" * (len(names) + ("b75" in names)),
    ]
    for i, e in enumerate(variants[0]["layers"]):
        cells = [_pct(m["layers"][i]["sparsity"]) for m in variants]
        if "b75" in names:
            b = variants[names.index("b75")]["layers"][i]
            cells.append(_pct(b["block4_sparsity"]))
        module = e["module"] + ("" if e["pruned"] else " (dense)")
        shape = "x".join(str(d) for d in e["shape"])
        layer_rows.append(f"| {module} | `{e['node']}` | {e['op']} | {shape} | "
                          + " | ".join(cells) + " |")  # fmt: skip
    reproduced = dense["reproduced_bytes"]
    v = variants[0]
    return "\n".join(
        [
            f"# Pruned {name} models",
            "",
            "**The data is synthetic** (see `../data.py`): accuracies are on the sample's "
            f"{v['test_count']:,} held-out synthetic test windows (seed {v['seeds']['test']}).",
            "",
            "The dense model of `../make_model.py`, pruned the way users prune with "
            "`torch.nn.utils.prune`, fine-tuned with the masks on, then exported and quantized "
            "exactly as the dense model (same exporter, onnxruntime `quantize_static` settings "
            "and calibration inputs). Every Linear (token embedding, attention q/k/v/output "
            "projections, FFN) and every dense convolution is pruned per layer by L1 magnitude; "
            "the classifier head and depthwise convolutions stay dense:",
            "",
            *(
                f"- `{m['variant']}` (from the {m['pruning']['pruned_from']} model): "
                f"{m['pruning']['method']};"
                for m in variants
            ),
            f"- fine-tuning: {v['finetune']['epochs']} epochs of the sample's training loop "
            f"(same {v['finetune']['train_count']:,} training windows), learning rate "
            f"{v['finetune']['lr']:g}, masks on; then `prune.remove`.",
            "",
            "Symmetric per-tensor int8 weights keep every pruned zero zero (each variant's "
            "`metrics.json` has `zeros_stay_zero` per layer, all true); a few more weights "
            "round to zero, so a pruned layer of n weights (b 1x4 blocks) has at least "
            "round(amount x n) int8 zeros (round(amount x b) zero blocks): just under the "
            "amount in a few small layers (56 weights at 90 %: 50 zeros). Zero 1x4 "
            "blocks are counted in tinytx's order (Linear `[out][in]`, conv `[out][kh][kw][in]`, "
            "each row padded with zeros to a multiple of 4).",
            "",
            "## Accuracy and sparsity",
            "",
            *rows,
            "",
            "## Sparsity of every int8 weight (zeros after quantization)",
            "",
            *layer_rows,
            "",
            "## Files (per variant directory)",
            "",
            "| file | what |",
            "| --- | --- |",
            "| `model.onnx` | int8 QDQ model, converts like `../model.onnx` |",
            "| `test_inputs.npz` | the dense model's test inputs (same windows, same input "
            "scale) |",
            "| `ort_outputs.npz` | onnxruntime on `model.onnx` for those inputs |",
            "| `golden_outputs.npz` | the tinytx golden executor on those inputs (`int8`, "
            "`predicted`), the model as `tinytx convert` plans it: no `calibration.npz`, so no "
            "fused-weight attention (it would fuse the sparse Q/K weights into one dense matrix) |",
            "| `metrics.json` | accuracies next to the dense model's, the pruned modules, the "
            "sparsity of every int8 weight (elements, zeros, 1x4 blocks, float zeros kept) |",
            "",
            "## Regenerate",
            "",
            "```sh",
            ".venv/bin/pip install torch==2.13.0            # only model making needs torch",
            f".venv/bin/python samples/{name}/model/make_pruned.py          # every variant",
            f".venv/bin/python samples/{name}/model/make_pruned.py b75 u90  # some of them",
            "```",
            "",
            "The script trains the dense model first exactly as `make_model.py` does and checks "
            "that it reproduces the committed `../model.onnx` byte for byte (this run: "
            f"{'yes' if reproduced else 'no'}). Training and fine-tuning are single-threaded, "
            "seeded and use `torch.use_deterministic_algorithms(True)`: two runs on the same "
            "machine and package versions write byte-identical files (checked: a second "
            "radar run rewrote every file of `pruned/` with the same bytes).",
            "",
        ]
    )


def instructions_section(root: Path) -> list[str]:
    path = root / "instructions.json"
    if not path.is_file():
        return []
    r = json.loads(path.read_text())
    base = "dense --fwsa off" if "dense --fwsa off" in r["models"] else "dense"
    dense = r["models"][base]["instructions"]
    rows = [
        f"## Instructions on today's dense kernels ({r['board']})",
        "",
        f"Exact instructions of one inference (unicorn, one `tinytx_<name>_run` call), "
        f"`{r['command']}` (convert, build, QEMU run of the test inputs: every one MATCHes "
        "the golden executor), measured by `samples/common_model/count_pruned.py`. The "
        "dense kernels multiply the zeros too: pruning alone gains nothing until the "
        "converter stores the weights sparsely. Per layer (`tinytx run --profile`, eeg u50 "
        "against u75, ecg dense against b75) every linear and convolution layer takes "
        "exactly the same "
        "instructions; the small differences come from kernels whose work depends on the "
        "values (the attention's softmax, LayerNorm)."
        + (
            " `dense` is the sample as shipped, with fused-weight attention (its "
            "`calibration.npz`); the variants have no calibration inputs, so they compare "
            "with `dense --fwsa off`, the same schedule."
            if base != "dense"
            else ""
        ),
        "",
        f"| model | instructions | vs {base} |",
        "| --- | ---: | ---: |",
    ]
    for name, m in r["models"].items():
        n = m["instructions"]
        rows.append(f"| {name} | {n:,} | {100 * (n - dense) / dense:+.2f} % |")
    return [*rows, ""]


def write_readme_files(root: Path, name: str) -> None:
    found = [
        json.loads((root / v / "metrics.json").read_text())
        for v in VARIANT_NAMES
        if (root / v / "metrics.json").is_file()
    ]
    text = readme(name, found)
    extra = instructions_section(root)
    if extra:
        head, tail = text.split("## Files (per variant directory)")
        text = head + "\n".join(extra) + "\n## Files (per variant directory)" + tail
    (root / "README.md").write_text(text)
