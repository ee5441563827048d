"""Build the model zoo: tiny transformers trained briefly, exported, quantized to int8 QDQ.

Run with a Python that has torch, timm, transformers, onnx, onnxruntime, onnxscript
(see README.md for the versions):

    python tests/zoo/make_zoo.py                 # every fixture
    python tests/zoo/make_zoo.py --only vit bert # fixtures whose name contains a word

For each architecture: seeded random init, a few hundred AdamW steps on a synthetic
task (``zoo_data``), export with the legacy TorchScript exporter and/or the dynamo
exporter (batch 1, static shapes), then onnxruntime ``quantize_static`` in the
schemes of ``SCHEMES``. Writes ``models/<name>.onnx``, ``models/<name>.npz`` and
merges the fixtures into ``models/index.json``. Float models and the listings go to
``--work`` (default ``build/zoo``), which is not committed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnxruntime.quantization import (
    CalibrationDataReader,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process
from torch import nn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import zoo_data  # noqa: E402
import zoo_listing  # noqa: E402

OPSET = 17
# the dynamo exporter has no opset 17 implementations: asked for 17 it exports 18 and its
# down-conversion fails (onnx version_converter: "axes_input_to_attribute.h:55: adapt:
# Assertion `node->hasAttribute(kaxes)` failed"), so it is asked for 18 directly
DYNAMO_OPSET = 18
TRAIN_SEED, CALIB_SEED, TEST_SEED = 1, 2, 3
TRAIN_COUNT, CALIB_COUNT, EVAL_COUNT = 2048, 100, 500
# Logits (float and onnxruntime) and labels are stored for this many inputs: the tests
# regenerate the inputs with zoo_data and measure top-1 agreement on all of them; only
# the first `stored` inputs themselves are committed.
LOGITS_COUNT = 200


def _torchvision_shim() -> None:
    """Let timm import a torchvision whose C extension cannot load (a CUDA build on a
    CPU-only torch): torchvision registers fake kernels for nms/qnms unconditionally,
    which needs their schemas. Only the model code of timm is used here."""
    try:
        import torchvision  # noqa: F401
    except RuntimeError:
        for mod in [m for m in sys.modules if m.startswith("torchvision")]:
            del sys.modules[mod]
        lib = torch.library.Library("torchvision", "DEF")
        for op in ("nms", "qnms"):
            lib.define(f"{op}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        _torchvision_shim.lib = lib  # type: ignore[attr-defined]  # keep it alive


# quantize_static keyword arguments per scheme ("prep" also runs quant_pre_process first)
_SYM = {
    "quant_format": QuantFormat.QDQ,
    "activation_type": QuantType.QInt8,
    "weight_type": QuantType.QInt8,
    "per_channel": False,
    "extra_options": {"ActivationSymmetric": True, "WeightSymmetric": True},
}
SCHEMES: dict[str, dict] = {
    "sym": _SYM,
    "ortdefault": {},
    "perchannel": {**_SYM, "per_channel": True},
    "uint8": {
        "quant_format": QuantFormat.QDQ,
        "activation_type": QuantType.QUInt8,
        "weight_type": QuantType.QInt8,
    },
    "prep": _SYM,
}
SCHEME_TEXT = {
    "sym": "QDQ, int8 activations and weights, per-tensor, symmetric (zero point 0)",
    "ortdefault": "quantize_static defaults: QDQ, int8 activations asymmetric, int8 weights",
    "perchannel": "as sym, weights per output channel",
    "uint8": "QDQ, uint8 activations (asymmetric), int8 weights per-tensor",
    "prep": "quant_pre_process (symbolic shape inference + ORT basic optimizations), then sym",
}


@dataclass(frozen=True)
class Arch:
    name: str
    text: str
    make: Callable[[], nn.Module]
    task: str
    shape: dict[str, int]
    # exporter -> schemes
    exports: dict[str, tuple[str, ...]]
    stored: int = 200
    steps: int = 300
    lr: float = 3e-3
    torch_seed: int = 0
    extra: dict = field(default_factory=dict)


def archs() -> list[Arch]:
    import zoo_models as zm

    seq = {"tokens": 16, "features": 8}
    s, f, c = 16, 8, zoo_data.CLASSES
    return [
        Arch(
            "tel_post_relu",
            "nn.TransformerEncoderLayer E=32 H=4 F=64, post-norm, relu; Linear embedding, "
            "learned positions, mean pool, Linear head",
            lambda: zm.tel_classifier(s, f, c, norm_first=False, activation="relu"),
            "sequence",
            seq,
            {
                "legacy": ("sym", "ortdefault", "perchannel", "uint8", "prep"),
                "dynamo": ("sym", "ortdefault", "prep"),
            },
        ),
        Arch(
            "tel_pre_gelu",
            "nn.TransformerEncoderLayer E=32 H=4 F=64, pre-norm (norm_first), gelu; Linear "
            "embedding, learned positions, token-0 pool, Linear head",
            lambda: zm.tel_classifier(s, f, c, norm_first=True, activation="gelu", pool="token0"),
            "sequence",
            seq,
            {"legacy": ("sym", "prep"), "dynamo": ("sym",)},
        ),
        Arch(
            "vit",
            "timm VisionTransformer img 32x32x1, patch 8 (16 patches + class token), E=32, "
            "depth 2, 2 heads, mlp_ratio 2, class-token head",
            lambda: zm.vit_classifier(32, 1, c),
            "image",
            {"channels": 1, "size": 32},
            {
                "legacy": ("sym", "perchannel", "uint8", "prep"),
                "dynamo": ("sym", "ortdefault", "prep"),
            },
            stored=16,
        ),
        Arch(
            "vit64_avg",
            "timm VisionTransformer img 32x32x1, patch 8, E=64, depth 2, 4 heads, mlp_ratio 2, "
            "global_pool='avg' (mean of the patch tokens, class token sliced off)",
            lambda: zm.vit_classifier(32, 1, c, embed=64, heads=4, pool="avg"),
            "image",
            {"channels": 1, "size": 32},
            {"legacy": ("sym",), "dynamo": ("sym",)},
            stored=16,
        ),
        Arch(
            "bert",
            "transformers BertForSequenceClassification from BertConfig (hidden 32, 2 layers, "
            "2 heads, intermediate 64), fed inputs_embeds [1,16,32], pooler Dense+Tanh + "
            "classifier; default (sdpa) attention",
            lambda: zm.BertClassifier(16, 32, c, "sdpa"),
            "sequence",
            {"tokens": 16, "features": 32},
            {"legacy": ("sym", "prep"), "dynamo": ("sym", "ortdefault")},
            stored=50,
        ),
        Arch(
            "bert_eager",
            "as bert, attn_implementation='eager' (explicit matmul/softmax attention)",
            lambda: zm.BertClassifier(16, 32, c, "eager"),
            "sequence",
            {"tokens": 16, "features": 32},
            {"legacy": ("sym",)},
            stored=50,
        ),
        Arch(
            "tenc4",
            "nn.TransformerEncoder, 4 pre-norm relu layers E=32 H=2 F=64 + final LayerNorm; "
            "Linear embedding, learned positions, mean pool",
            lambda: zm.stack_classifier(s, f, c, norm_first=True, activation="relu"),
            "sequence",
            seq,
            {"legacy": ("sym",), "dynamo": ("sym",)},
            stored=100,
        ),
        Arch(
            "mha_block",
            "custom pre-norm block around nn.MultiheadAttention (E=32, 2 heads) + GELU FFN "
            "(F=96), final LayerNorm, mean pool",
            lambda: zm.mha_classifier(s, f, c),
            "sequence",
            seq,
            {"legacy": ("sym", "ortdefault", "perchannel"), "dynamo": ("sym", "perchannel")},
        ),
        Arch(
            "conv1d_tel",
            "Conv1d(4->32, k3) + BatchNorm1d + ReLU front end on [1,4,32], transpose to "
            "tokens, nn.TransformerEncoderLayer post-norm gelu (2 heads, F=64), mean pool",
            lambda: zm.ConvFrontClassifier(4, 32, c),
            "signal",
            {"channels": 4, "length": 32},
            {"legacy": ("sym", "ortdefault", "uint8"), "dynamo": ("sym", "uint8")},
        ),
        Arch(
            "hswish_block",
            "custom post-norm block: separate q/k/v Linears, view/transpose attention, FFN "
            "Linear-Hardswish-Linear (E=32, 2 heads, F=64)",
            lambda: zm.custom_classifier(s, f, c, act="hardswish"),
            "sequence",
            seq,
            {"legacy": ("sym",)},
        ),
        Arch(
            "silu_block",
            "as hswish_block with nn.SiLU in the FFN",
            lambda: zm.custom_classifier(s, f, c, act="silu"),
            "sequence",
            seq,
            {"legacy": ("sym",), "dynamo": ("sym",)},
        ),
    ]


class _Reader(CalibrationDataReader):
    def __init__(self, name: str, inputs: np.ndarray) -> None:
        self._it = iter([{name: a[None]} for a in inputs])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._it, None)


def train(arch: Arch, model: nn.Module) -> float:
    x, y = zoo_data.make(arch.task, TRAIN_COUNT, TRAIN_SEED, **arch.shape)
    opt = torch.optim.AdamW(model.parameters(), lr=arch.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, arch.lr, total_steps=arch.steps)
    rng = np.random.default_rng(arch.torch_seed + 7)
    model.train()
    loss = torch.tensor(0.0)
    for _ in range(arch.steps):
        idx = rng.integers(len(x), size=32)
        logits = model(torch.from_numpy(x[idx]))
        loss = nn.functional.cross_entropy(logits, torch.from_numpy(y[idx]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    model.eval()
    return float(loss.item())


def torch_logits(model: nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return np.concatenate(
            [model(torch.from_numpy(x[i : i + 100])).numpy() for i in range(0, len(x), 100)]
        )


def export(model: nn.Module, example: np.ndarray, exporter: str, path: Path) -> None:
    args = (torch.from_numpy(example[None]),)
    kw = {"input_names": ["input"], "output_names": ["logits"]}
    if exporter == "legacy":
        torch.onnx.export(
            model,
            args,
            str(path),
            dynamo=False,
            do_constant_folding=True,
            opset_version=OPSET,
            **kw,
        )
    else:
        prog = torch.onnx.export(model, args, dynamo=True, opset_version=DYNAMO_OPSET, **kw)
        prog.save(str(path))
        strip_stack_traces(path)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)


def strip_stack_traces(path: Path) -> None:
    """Drop the dynamo exporter's per-node Python stack traces (absolute paths of this
    machine: they make the files large and checkout-dependent); other metadata stays."""
    model = onnx.load(str(path))
    for node in model.graph.node:
        keep = [p for p in node.metadata_props if p.key != "pkg.torch.onnx.stack_trace"]
        del node.metadata_props[:]
        node.metadata_props.extend(keep)
    onnx.save(model, str(path))


def session(path: Path) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def ort_logits(path: Path, x: np.ndarray) -> np.ndarray:
    sess = session(path)
    name = sess.get_inputs()[0].name
    return np.stack([sess.run(None, {name: a[None]})[0].reshape(-1) for a in x])


def error_line(exc: BaseException) -> str:
    """One line: the exception, its message's first line, and where it was raised."""
    msg = str(exc).strip().splitlines()
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f" [{Path(frame.filename).name}:{frame.lineno} {frame.line}]" if frame else ""
    return f"{type(exc).__name__}: {msg[0] if msg else ''}{where}"


def observed_values(model: onnx.ModelProto, x: np.ndarray) -> dict[str, np.ndarray]:
    """Every node output of one ORT run (the listing's shapes where inference has none)."""
    m = zoo_listing.with_all_outputs(model)
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(m.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, {m.graph.input[0].name: x[None]}), strict=True))


def quantize(scheme: str, float_path: Path, q_path: Path, calib: np.ndarray) -> str:
    """Quantize; returns a note when quant_pre_process needed skip_symbolic_shape=True."""
    src, note = float_path, ""
    if scheme == "prep":
        src = q_path.with_suffix(".prep.onnx")
        try:
            quant_pre_process(str(float_path), str(src))
        except Exception as exc:  # ORT's symbolic shape inference gives up on some graphs
            note = f"quant_pre_process failed ({error_line(exc)}); rerun with skip_symbolic_shape"
            quant_pre_process(str(float_path), str(src), skip_symbolic_shape=True)
    quantize_static(str(src), str(q_path), _Reader("input", calib), **SCHEMES[scheme])
    if src != float_path:
        src.unlink()
    return note


def _acc(logits: np.ndarray, y: np.ndarray) -> float:
    return round(float((logits.argmax(1) == y).mean()), 4)


def build_arch(arch: Arch, out: Path, work: Path, only: list[str]) -> tuple[list, list]:
    wanted = [
        (e, s)
        for e, schemes in arch.exports.items()
        for s in schemes
        if not only or any(w in f"{arch.name}_{e}_{s}" for w in only)
    ]
    if not wanted:
        return [], []
    t0 = time.time()
    torch.manual_seed(arch.torch_seed)
    model = arch.make()
    final_loss = train(arch, model)
    x_eval, y_eval = zoo_data.make(arch.task, EVAL_COUNT, TEST_SEED, **arch.shape)
    x_cal, _ = zoo_data.make(arch.task, CALIB_COUNT, CALIB_SEED, **arch.shape)
    f_torch = torch_logits(model, x_eval)
    print(f"{arch.name}: trained {arch.steps} steps in {time.time() - t0:.1f}s, "
          f"loss {final_loss:.3f}, float acc {_acc(f_torch, y_eval)}", flush=True)  # fmt: skip
    entries, failures = [], []
    n = arch.stored
    for exporter in dict.fromkeys(e for e, _ in wanted):
        float_path = work / f"{arch.name}_{exporter}_float.onnx"
        try:
            export(model, x_eval[0], exporter, float_path)
        except Exception as exc:  # record and move on
            failures.append(
                {"fixture": f"{arch.name}_{exporter}", "stage": "export", "error": error_line(exc)}
            )
            traceback.print_exc()
            continue
        f_onnx = ort_logits(float_path, x_eval)
        for scheme in (s for e, s in wanted if e == exporter):
            name = f"{arch.name}_{exporter}_{scheme}"
            q_path = out / f"{name}.onnx"
            try:
                note = quantize(scheme, float_path, q_path, x_cal)
                onnx.checker.check_model(onnx.load(str(q_path)))
                q = ort_logits(q_path, x_eval)
            except Exception as exc:
                failures.append({"fixture": name, "stage": "quantize", "error": error_line(exc)})
                traceback.print_exc()
                q_path.unlink(missing_ok=True)
                continue
            np.savez_compressed(
                out / f"{name}.npz",
                inputs=x_eval[:n, None],
                float_logits=f_torch[:LOGITS_COUNT].astype(np.float32),
                ort_logits=q[:LOGITS_COUNT].astype(np.float32),
                labels=y_eval[:LOGITS_COUNT],
            )
            qm = onnx.load(str(q_path))
            listing = zoo_listing.node_listing(qm, observed_values(qm, x_eval[0]))
            (work / f"{name}.txt").write_text("\n".join(listing) + "\n")
            entry = {
                "name": name,
                "architecture": arch.name,
                "description": arch.text,
                "exporter": exporter,
                "scheme": scheme,
                "scheme_text": SCHEME_TEXT[scheme],
                "opset": next(o.version for o in qm.opset_import if o.domain in ("", "ai.onnx")),
                "task": arch.task,
                "task_shape": arch.shape,
                "test_seed": TEST_SEED,
                "stored_inputs": n,
                "logits_count": LOGITS_COUNT,
                "input_name": qm.graph.input[0].name,
                "input_shape": [1, *x_eval.shape[1:]],
                "classes": zoo_data.CLASSES,
                "float_accuracy": _acc(f_torch, y_eval),
                "float_onnx_accuracy": _acc(f_onnx, y_eval),
                "qdq_accuracy": _acc(q, y_eval),
                "qdq_top1_agreement": _acc(q, f_torch.argmax(1)),
                "eval_count": EVAL_COUNT,
                "qdq_accuracy_stored": _acc(q[:n], y_eval[:n]),
                "onnx_bytes": q_path.stat().st_size,
                "note": note,
                "op_counts": zoo_listing.op_counts(qm),
            }
            entries.append(entry)
            print(f"  {name}: float {entry['float_accuracy']} qdq {entry['qdq_accuracy']} "
                  f"{entry['onnx_bytes']} B", flush=True)  # fmt: skip
    return entries, failures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", default=[], help="build fixtures whose name has a word")
    ap.add_argument("--out", type=Path, default=HERE / "models")
    ap.add_argument("--work", type=Path, default=HERE.parents[1] / "build" / "zoo")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    args.work.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    _torchvision_shim()

    index_path = args.out / "index.json"
    index = json.loads(index_path.read_text()) if index_path.exists() else {}
    fixtures = {f["name"]: f for f in index.get("fixtures", [])}
    failures = {(f["fixture"], f["stage"]): f for f in index.get("failures", [])}
    for arch in archs():
        entries, failed = build_arch(arch, args.out, args.work, args.only)
        for e in entries:
            fixtures[e["name"]] = e
            failures = {k: v for k, v in failures.items() if not e["name"].startswith(k[0])}
        for f in failed:
            failures[(f["fixture"], f["stage"])] = f
    index = {
        "versions": versions(),
        "fixtures": sorted(fixtures.values(), key=lambda f: f["name"]),
        "failures": sorted(failures.values(), key=lambda f: f["fixture"]),
    }
    index_path.write_text(json.dumps(index, indent=1) + "\n")
    listing = [
        f"# {f['name']}: {f['description']}\n# exporter {f['exporter']} (opset {f['opset']}), "
        f"scheme {f['scheme']}: {f['scheme_text']}\n# input {f['input_name']} "
        f"{f['input_shape']}, {f['classes']} classes\n"
        + (args.work / f"{f['name']}.txt").read_text()
        for f in index["fixtures"]
        if (args.work / f"{f['name']}.txt").exists()
    ]
    (args.work / "zoo-ops.txt").write_text("\n".join(listing))
    update_readme(HERE / "README.md", index)


BEGIN, END = "<!-- generated by make_zoo.py: begin -->", "<!-- generated by make_zoo.py: end -->"


def update_readme(path: Path, index: dict) -> None:
    """Rewrite the generated part of the README (fixture table, op counts, failures)."""
    rows = [
        "| fixture | exporter | scheme | opset | input | stored | float acc | QDQ acc "
        "| agree | bytes |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for f in index["fixtures"]:
        shape = "x".join(str(d) for d in f["input_shape"])
        rows.append(
            f"| `{f['name']}` | {f['exporter']} | {f['scheme']} | {f['opset']} | {shape} "
            f"| {f['stored_inputs']} | {f['float_accuracy']:.3f} | {f['qdq_accuracy']:.3f} "
            f"| {f['qdq_top1_agreement']:.3f} | {f['onnx_bytes']} |"
        )
    ops = []
    for f in index["fixtures"]:
        counts = f["op_counts"]
        qdq = f"Q {counts.get('QuantizeLinear', 0)}, DQ {counts.get('DequantizeLinear', 0)}"
        rest = ", ".join(f"{k} {v}" for k, v in counts.items() if not k.endswith("izeLinear"))
        ops.append(f"- `{f['name']}`: {qdq}; {rest}")
        if f.get("note"):
            ops.append(f"  (note: {f['note']})")
    fails = [f"- `{f['fixture']}` ({f['stage']}): `{f['error']}`" for f in index["failures"]]
    vers = ", ".join(f"{k}=={v}" for k, v in index["versions"].items())
    body = [
        BEGIN,
        "",
        f"Generated with {vers}. Accuracies on {EVAL_COUNT} test inputs (seed {TEST_SEED}); "
        "`agree` = QDQ top-1 equal to float top-1; `stored` = inputs in the npz (the first "
        "ones of the same test set).",
        "",
        *rows,
        "",
        "### Op types per fixture",
        "",
        *ops,
        "",
        "### Export or quantization failures",
        "",
        *(fails or ["None."]),
        "",
        END,
    ]
    text = path.read_text()
    head, tail = text.split(BEGIN)[0], text.split(END)[1]
    path.write_text(head + "\n".join(body) + tail)


def versions() -> dict[str, str]:
    import importlib.metadata as md

    pkgs = ("torch", "torchvision", "timm", "transformers", "onnx", "onnxruntime", "onnxscript")
    pkgs += ("onnx-ir", "numpy")
    return {p: md.version(p) for p in pkgs}


if __name__ == "__main__":
    main()
