"""Graph rewrites before pattern matching that keep the computation bit for bit.

- ``Cast`` to float32 of a (float-view) activation is an ``Identity`` (Hugging Face
  casts the attention probabilities to float32 and back).
- A Relu/Clip after a layout op (``Gemm -> Reshape -> Relu``, as onnxruntime's
  ``quant_pre_process`` writes a 3-D Linear followed by ReLU) moves before the layout
  op, so it fuses into the op that computes the values.
"""

from __future__ import annotations

from tinytx.core.frontend.onnx.graph import Graph
from tinytx.core.frontend.onnx.layout import LAYOUT_OPS

ACTIVATIONS = ("Relu", "Clip")


def hoist_activations(g: Graph) -> None:
    """Move every Relu/Clip whose input is a layout op's only output above that op."""
    changed = True
    while changed:
        changed = False
        for act in g.nodes:
            if act.op not in ACTIVATIONS or not act.inputs:
                continue
            lay = g.producer(act.inputs[0])
            if lay is None or lay.op not in LAYOUT_OPS or len(lay.outputs) != 1:
                continue
            a = lay.inputs[0]
            if a in g.consts or len(g.consumers(a)) != 1 or len(g.consumers(act.inputs[0])) != 1:
                continue
            if g.is_output(a) or g.is_output(act.inputs[0]):
                continue
            out = act.outputs[0]
            mid = out + "_before_" + lay.name
            if out in g.qscale:
                g.qscale[mid] = g.qscale[out]
            if a in g.shapes:
                g.shapes[mid] = g.shapes[a]
            act.inputs[0], act.outputs[0] = a, mid
            lay.inputs[0], lay.outputs[0] = mid, out
            i, j = g.nodes.index(lay), g.nodes.index(act)
            g.nodes[i], g.nodes[j] = act, lay
            g.reindex()
            changed = True
            break


def casts_to_identity(g: Graph) -> None:
    """Every Cast to float32 of an activation becomes an Identity."""
    from onnx import TensorProto

    for n in g.nodes:
        if n.op == "Cast" and n.inputs and n.inputs[0] not in g.consts:
            if int(n.attr("to", 0)) == TensorProto.FLOAT:
                n.op, n.attrs = "Identity", {}
