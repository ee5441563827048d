"""Pruned variants of a sample model (used by samples/*/model/make_pruned.py).

For one sample (its ``SampleSpec``), all seeded, on CPU with one thread:

1. train the dense float model exactly as ``make_model.py`` does (:func:`kit.train_dense`:
   same data, seeds, epochs) and package it once more into ``build/`` to check that it
   reproduces the committed ``model.onnx`` byte for byte (``dense.reproduced``);
2. per variant, from a copy of that dense model, prune with ``torch.nn.utils.prune`` per
   layer by L1 magnitude every Linear (token embedding, attention q/k/v/out projections,
   FFN) and every dense convolution; the classifier head (``head``) and depthwise
   convolutions stay dense:

   - ``u50`` / ``u75`` / ``u90``: ``prune.l1_unstructured`` at 50 / 75 / 90 % of each
     layer's weights, gradually: ``u50`` from the dense model, ``u75`` from the fine-tuned
     ``u50``, ``u90`` from the fine-tuned ``u75`` (a zero is the smallest magnitude, so
     what is pruned stays pruned);
   - ``b75``: ``prune.custom_from_mask`` with 75 % of the layer's 1x4 blocks zeroed, the
     blocks of 4 consecutive values along the reduction axis in tinytx's order
     (sparsity.block4_keep: Linear ``[out][in]``, conv ``[out][kh][kw][in]``, rows
     padded at the end), those of smallest L1 norm;

3. fine-tune with the masks on (``FINETUNE_EPOCHS`` epochs of the sample's training loop
   unless the sample's script asks for more,
   learning rate ``FINETUNE_LR_FACTOR`` x the sample's), then ``prune.remove``;
4. export and quantize exactly as the dense model (kit.package: same exporter, opset,
   onnxruntime ``quantize_static`` settings and calibration inputs) into
   ``pruned/<variant>/``: ``model.onnx``, ``test_inputs.npz``, ``ort_outputs.npz``,
   ``metrics.json`` (accuracies next to the dense model's, the sparsity of every int8
   weight, sparsity.layer_sparsity) and ``golden_outputs.npz`` (the tinytx golden
   executor on the test inputs, as ``tinytx convert`` plans the model: no calibration.npz,
   so no fused-weight attention, which would fuse the sparse Q/K weights away);
5. rewrite ``pruned/README.md`` with the table.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import torch
from kit import (
    DataSets,
    SampleSpec,
    accuracy,
    datasets,
    package,
    train,
    train_dense,
    versions,
    work_dir,
)
from pruned_readme import write_readme_files
from sparsity import block4_keep, layer_sparsity, total_sparsity
from torch import nn
from torch.nn.utils import prune

FINETUNE_EPOCHS = 6
FINETUNE_LR_FACTOR = 0.5
KEEP_DENSE = ("head",)  # the classifier: few weights, all of them matter


@dataclass(frozen=True)
class Variant:
    name: str
    structure: str  # "unstructured" | "block4"
    amount: float
    start: str = "dense"  # the model pruned: the dense one or another variant (fine-tuned)

    @property
    def method(self) -> str:
        if self.structure == "unstructured":
            return f"torch.nn.utils.prune.l1_unstructured per layer, amount {self.amount}"
        return (
            f"torch.nn.utils.prune.custom_from_mask per layer: {self.amount:.0%} of the 1x4 "
            "blocks along the reduction axis (Linear [out][in], conv [out][kh][kw][in]; rows "
            "padded to a multiple of 4) zeroed, those of smallest L1 norm"
        )


VARIANTS = (
    Variant("u50", "unstructured", 0.50),
    Variant("u75", "unstructured", 0.75, start="u50"),
    Variant("u90", "unstructured", 0.90, start="u75"),
    Variant("b75", "block4", 0.75),
)


def prunable(model: nn.Module, keep_dense: tuple[str, ...] = KEEP_DENSE) -> list[tuple[str, str]]:
    """(module name, parameter) of every weight to prune: each Linear, each convolution
    with ``groups == 1`` and the packed in-projection of ``nn.MultiheadAttention`` (its
    out-projection is a Linear), except the modules named in ``keep_dense``."""
    found = []
    for name, m in model.named_modules():
        if name in keep_dense:
            continue
        if isinstance(m, nn.Linear):
            found.append((name, "weight"))
        elif isinstance(m, (nn.Conv1d, nn.Conv2d)) and m.groups == 1:
            found.append((name, "weight"))
        elif isinstance(m, nn.MultiheadAttention) and m.in_proj_weight is not None:
            found.append((name, "in_proj_weight"))
    return found


def apply_masks(model: nn.Module, variant: Variant, targets: list[tuple[str, str]]) -> list:
    """Prune every target; returns the hooks to remove with :func:`remove_masks`.

    ``nn.MultiheadAttention`` reads its ``out_proj.weight`` without calling ``out_proj``,
    so the pruning hook of that Linear would never recompute the masked weight: a hook on
    the attention module runs it before each call."""
    modules = dict(model.named_modules())
    for name, param in targets:
        m = modules[name]
        if variant.structure == "unstructured":
            prune.l1_unstructured(m, param, amount=variant.amount)
        else:
            w = getattr(m, param).detach().numpy()
            prune.custom_from_mask(m, param, torch.from_numpy(block4_keep(w, variant.amount)))

    def refresh_out_proj(mha: nn.Module, _inputs: object) -> None:
        for hook in list(mha.out_proj._forward_pre_hooks.values()):
            if isinstance(hook, prune.BasePruningMethod):
                hook(mha.out_proj, None)

    return [
        m.register_forward_pre_hook(refresh_out_proj)
        for m in modules.values()
        if isinstance(m, nn.MultiheadAttention)
    ]


def remove_masks(model: nn.Module, targets: list[tuple[str, str]], hooks: list) -> None:
    for hook in hooks:
        hook.remove()
    modules = dict(model.named_modules())
    for name, param in targets:
        prune.remove(modules[name], param)


def module_of(node: str) -> str:
    """The qualified name of the module a legacy-exported node comes from: its name's
    scope components (``/layers.0/ffn/ffn.0/MatMul`` -> ``layers.0.ffn.0``; a component
    that extends the previous one, ``ffn.0`` after ``ffn``, replaces it)."""
    parts: list[str] = []
    for c in node.strip("/").split("/")[:-1]:
        if parts and c.startswith(parts[-1] + "."):
            parts[-1] = c
        else:
            parts.append(c)
    return ".".join(parts)


def golden_outputs(out: Path) -> dict[str, np.ndarray]:
    """The golden executor's int8 outputs of the committed test inputs, the model planned
    as ``tinytx convert`` plans it (torch-free; imported here so that only this step
    needs tinytx)."""
    from tinytx.core import executor
    from tinytx.core.codegen.project import ConvertOptions, convert

    m = convert(out / "model.onnx", ConvertOptions()).planned
    inputs = np.load(out / "test_inputs.npz")["int8"]
    y = np.stack([executor.run(m, m.input_spec.to_memory(x)) for x in inputs])
    return {"int8": y, "predicted": y.argmax(axis=1)}


def make_variant(
    spec: SampleSpec,
    start: nn.Module,
    data: DataSets,
    variant: Variant,
    dense_info: dict,
    epochs: int = FINETUNE_EPOCHS,
) -> tuple[nn.Module, dict]:
    """Prune a copy of ``start`` (the dense model or a variant's fine-tuned one: the
    zeros it has are the smallest magnitudes, so they stay pruned), fine-tune, package."""
    t0 = time.time()
    torch.manual_seed(spec.torch_seed)
    model = copy.deepcopy(start)
    targets = prunable(model)
    hooks = apply_masks(model, variant, targets)
    before = accuracy(model, spec, data.x_test, data.y_test)
    tune = dataclasses.replace(spec, epochs=epochs, lr=spec.lr * FINETUNE_LR_FACTOR)
    losses = train(tune, model, data.x_train, data.y_train)
    remove_masks(model, targets, hooks)
    after = accuracy(model, spec, data.x_test, data.y_test)

    out = spec.out_dir / "pruned" / variant.name
    out.mkdir(parents=True, exist_ok=True)
    float_path = work_dir(spec) / f"pruned_{variant.name}_float.onnx"
    figures = package(spec, model, data, out, float_path)
    layers = layer_sparsity(onnx.load(str(out / "model.onnx")), onnx.load(str(float_path)))
    names = {name for name, _ in targets}
    for entry in layers:
        entry["module"] = module_of(entry["node"])
        entry["pruned"] = entry["module"] in names
    pruned = [e for e in layers if e["pruned"]]
    if len(pruned) != len(targets):
        raise RuntimeError(f"{spec.name}/{variant.name}: {len(targets)} pruned weights, "
                           f"{len(pruned)} found in the ONNX graph")  # fmt: skip
    if not all(e["zeros_stay_zero"] for e in layers):
        raise RuntimeError(f"{spec.name}/{variant.name}: quantization made a zero weight non-zero")
    metrics = {
        "sample": spec.name,
        "variant": variant.name,
        "pruning": {
            "structure": variant.structure,
            "amount": variant.amount,
            "method": variant.method,
            "pruned_from": variant.start,
            "pruned_modules": [f"{name}.{param}" for name, param in targets],
            "dense_modules": [*KEEP_DENSE, "depthwise convolutions (groups > 1)"],
        },
        "finetune": {
            "epochs": epochs,
            "lr": tune.lr,
            "train_count": spec.train_count,
            "final_train_loss": round(losses[-1], 4),
        },
        "test_count": spec.test_count,
        "seeds": {
            "train": spec.train_seed,
            "test": spec.test_seed,
            "calibration": spec.calib_seed,
            "torch": spec.torch_seed,
        },
        "dense": dense_info,
        "accuracy_float_torch_pruned_before_finetune": before,
        "accuracy_float_torch": after,
        **figures,
        "int8_weight_sparsity": {
            "pruned_layers": total_sparsity(pruned),
            "all_layers": total_sparsity(layers),
        },
        "layers": layers,
        "versions": versions(),
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    np.savez(out / "golden_outputs.npz", **golden_outputs(out))
    print(f"{spec.name}/{variant.name}: float {before:.3f} -> {after:.3f} after fine-tuning, "
          f"int8 QDQ {figures['accuracy_qdq_onnxruntime']:.3f}, pruned-layer sparsity "
          f"{metrics['int8_weight_sparsity']['pruned_layers']['sparsity']:.3f} "
          f"({time.time() - t0:.0f} s)", flush=True)  # fmt: skip
    return model, metrics


def dense_reference(spec: SampleSpec, dense: nn.Module, data: DataSets) -> dict:
    """The committed dense model's figures, and whether this run reproduced its bytes."""
    committed = json.loads((spec.out_dir / "metrics.json").read_text())
    check = work_dir(spec) / "dense_check"
    check.mkdir(exist_ok=True)
    package(spec, dense, data, check, work_dir(spec) / "dense_check_float.onnx")
    same = (check / "model.onnx").read_bytes() == (spec.out_dir / "model.onnx").read_bytes()
    keys = ("accuracy_float_torch", "accuracy_float_onnxruntime", "accuracy_qdq_onnxruntime")
    info = {k: committed[k] for k in keys}
    if "accuracy_int8_tinytx" in committed:
        info["accuracy_int8_tinytx"] = committed["accuracy_int8_tinytx"]
    info["model_onnx_bytes"] = committed["model_onnx_bytes"]
    info["reproduced_bytes"] = same
    return info


def build_pruned(
    spec: SampleSpec, names: list[str] | None = None, finetune_epochs: int = FINETUNE_EPOCHS
) -> list[dict]:
    t0 = time.time()
    data = datasets(spec)
    dense, _ = train_dense(spec, data)
    dense_info = dense_reference(spec, dense, data)
    print(f"{spec.name}: dense model trained ({time.time() - t0:.0f} s), committed model.onnx "
          f"reproduced byte for byte: {dense_info['reproduced_bytes']}", flush=True)  # fmt: skip
    wanted = set(names or [v.name for v in VARIANTS])
    by_name = {v.name: v for v in VARIANTS}
    for v in VARIANTS[::-1]:  # a variant needs the one it starts from
        if v.name in wanted and v.start != "dense":
            wanted.add(v.start)
    models, results = {"dense": dense}, []
    for v in (v for v in VARIANTS if v.name in wanted):
        models[v.name], metrics = make_variant(spec, models[v.start], data, by_name[v.name],
                                               dense_info, finetune_epochs)  # fmt: skip
        results.append(metrics)
    write_readme(spec)
    return results


def write_readme(spec: SampleSpec) -> None:
    write_readme_files(spec.out_dir / "pruned", spec.name)
