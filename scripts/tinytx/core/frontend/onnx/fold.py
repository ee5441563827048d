"""Shape-subgraph folding: everything computable from the initializers and the static
input shape becomes an initializer, once, before the QDQ reading and pattern matching.

Exporters write shape arithmetic that runs at inference time: PyTorch's
``x.view(b, s, h, p)`` becomes ``Shape -> Gather -> Unsqueeze -> Concat -> Reshape``,
``scaled_dot_product_attention`` computes its scale as ``Shape -> Slice -> Cast -> Sqrt
-> Div``, ``nn.MultiheadAttention``'s unflatten a ``Shape -> Slice -> Concat`` chain.
With the input shape fixed (batch 1) all of it is constant. onnx's own tools do the work:
``onnx.shape_inference`` (with data propagation) gives every tensor's static shape and
``onnx.reference.ReferenceEvaluator`` runs the constant nodes; a ``Shape`` (or ``Size``)
of an activation with a static shape reads a zero tensor of that shape.

Never folded: ``QuantizeLinear``/``DequantizeLinear`` (the QDQ reader needs the integers
and their scales; they are evaluated when a constant expression reads them, e.g. a mask
built from quantized constants), layout ops on quantized constants, anything that
depends on the input's values, and the graph outputs.
"""

from __future__ import annotations

import math

import numpy as np

from tinytx.core.frontend.onnx.graph import MAX_ELEMENTS, FrontendError

QDQ = ("QuantizeLinear", "DequantizeLinear")
NEVER_FOLD = ("DynamicQuantizeLinear",)
SHAPE_READERS = ("Shape", "Size")
MAX_ROUNDS = 4
GROWING = ("ConstantOfShape", "Expand", "Tile", "Range", "Resize", "Pad", "Upsample")


def _static_shapes(model) -> dict[str, tuple[int, ...]]:
    """Static shapes of every value onnx's shape inference (with data propagation) can
    give; values with an unknown or symbolic dimension are left out."""
    import onnx

    try:
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
    except Exception:  # a model inference cannot read keeps its unfolded graph
        return {}
    g = inferred.graph
    out: dict[str, tuple[int, ...]] = {}
    for vi in [*g.input, *g.value_info, *g.output]:
        t = vi.type.tensor_type if vi.type.HasField("tensor_type") else None
        if t is None or not t.HasField("shape"):
            continue
        dims = [d.dim_value if d.HasField("dim_value") else -1 for d in t.shape.dim]
        if all(d >= 0 for d in dims):
            out[vi.name] = tuple(int(d) for d in dims)
    return out


def _constant_names(model) -> set[str]:
    g = model.graph
    names = {i.name for i in g.initializer}
    names.update(o for n in g.node if n.op_type == "Constant" for o in n.output)
    return names


def _foldable(model, shapes: dict[str, tuple[int, ...]]) -> tuple[list, set[str], set[int]]:
    """The nodes (graph order) computable from constants and static shapes, the
    activations whose shapes they read, and the ids of the QuantizeLinear /
    DequantizeLinear nodes among them: those are evaluated (what they compute may feed a
    constant expression, e.g. a quantized constant times another) but stay in the graph
    (the QDQ reader needs the integers and their scales)."""
    g = model.graph
    known = _constant_names(model)
    quantized: set[str] = set()
    outputs = {o.name for o in g.output}
    nodes, shape_sources, kept = [], set(), set()
    for n in g.node:
        if n.op_type == "Constant" or n.domain not in ("", "ai.onnx"):
            continue
        if n.op_type in NEVER_FOLD or any(o in outputs for o in n.output) or not n.output:
            continue
        ins = [i for i in n.input if i]
        if n.op_type in QDQ:
            if ins and all(i in known for i in ins):
                nodes.append(n)
                kept.add(id(n))
                known.update(n.output)
                quantized.update(n.output)
            continue
        if n.op_type in SHAPE_READERS and ins and ins[0] not in known:
            shp = shapes.get(ins[0])
            if shp is None or math.prod(shp) > MAX_ELEMENTS:
                continue
            shape_sources.add(ins[0])
        elif not all(i in known for i in ins):
            continue
        elif n.op_type in DATA_MOVES and ins[0] in quantized:
            continue  # moves a quantized constant: the QDQ reader keeps its integers
        sizes = [math.prod(shapes[o]) if o in shapes else None for o in n.output if o]
        if any(z is not None and z > MAX_ELEMENTS for z in sizes):
            continue  # left to the lowering, which refuses it by name
        if n.op_type in GROWING and None in sizes:
            continue  # an output of unknown size could be huge: not evaluated
        nodes.append(n)
        known.update(o for o in n.output if o)
    return nodes, shape_sources, kept


def _evaluate(model, nodes: list, shape_sources: set[str], shapes, where: str) -> dict:
    """Values of the outputs of ``nodes`` (ReferenceEvaluator on a model of just them)."""
    import onnx
    from onnx import helper
    from onnx.reference import ReferenceEvaluator

    g = model.graph
    made = {o for n in nodes for o in n.output if o}
    needed = {i for n in nodes for i in n.input if i and i not in made}
    inits = [i for i in g.initializer if i.name in needed]
    consts = [n for n in g.node if n.op_type == "Constant" and n.output[0] in needed]
    elem = {vi.name: vi.type.tensor_type.elem_type for vi in g.input}
    for vi in g.value_info:
        if vi.type.HasField("tensor_type"):
            elem[vi.name] = vi.type.tensor_type.elem_type
    inputs = [
        helper.make_tensor_value_info(s, elem.get(s) or onnx.TensorProto.FLOAT, shapes[s])
        for s in sorted(shape_sources)
    ]
    outs = [helper.make_tensor_value_info(o, onnx.TensorProto.UNDEFINED, None) for o in made]
    sub = helper.make_graph([*consts, *nodes], "fold", inputs, outs, inits)
    sub_model = helper.make_model(sub, opset_imports=list(model.opset_import))
    sub_model.ir_version = model.ir_version
    feeds = {}
    for s in sorted(shape_sources):
        np_type = onnx.helper.tensor_dtype_to_np_dtype(elem.get(s) or onnx.TensorProto.FLOAT)
        feeds[s] = np.zeros(shapes[s], np_type)
    try:
        values = ReferenceEvaluator(sub_model, new_ops=_qdq_ops()).run(None, feeds)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FrontendError(
            f"{where}: cannot evaluate the model's shape arithmetic ({first[:200]}); "
            "accepted: shape computations onnx's reference evaluator runs"
        ) from None
    return dict(zip([o.name for o in outs], values, strict=True))


DATA_MOVES = (
    "Gather",
    "Slice",
    "Reshape",
    "Transpose",
    "Squeeze",
    "Unsqueeze",
    "Flatten",
    "Expand",
    "Identity",
)


def _per_tensor_dq(model, node, known: set[str]) -> bool:
    """``node`` is a DequantizeLinear of a constant with one scale and zero point."""
    if node.op_type != "DequantizeLinear" or node.input[0] not in known:
        return False  # (the integers must be an initializer or a Constant)
    inits = {i.name: i for i in model.graph.initializer}
    for k in (1, 2):
        if k < len(node.input) and node.input[k]:
            t = inits.get(node.input[k])
            if t is None or len(t.dims) > 1 or (len(t.dims) == 1 and t.dims[0] != 1):
                return False
    return True


def push_dequantize_down(model) -> bool:
    """``DataMove(DequantizeLinear(int constant), constants...)`` becomes
    ``DequantizeLinear(DataMove(int constant, constants...))`` when the quantization is
    per tensor (Hugging Face's embedding lookups with constant ids, a slice of a learned
    position table): moving data commutes with a per-tensor dequantization, and the
    moved integers then fold into an initializer. Returns whether anything changed."""
    from onnx import helper

    g = model.graph
    known = _constant_names(model)
    producer = {o: n for n in g.node for o in n.output}
    changed = False
    order = list(g.node)
    for node in list(order):
        if node.op_type not in DATA_MOVES or not node.input:
            continue
        dq = producer.get(node.input[0])
        rest = [i for i in node.input[1:] if i]
        if dq is None or not _per_tensor_dq(model, dq, known) or not all(i in known for i in rest):
            continue
        moved = node.output[0] + "_int"
        node.input[0] = dq.input[0]
        out = node.output[0]
        node.output[0] = moved
        new_dq = helper.make_node(
            "DequantizeLinear", [moved, *dq.input[1:]], [out], name=out + "_dq", **_attrs(dq)
        )
        order.insert(order.index(node) + 1, new_dq)
        changed = True
    if changed:
        del g.node[:]
        g.node.extend(order)
        keep = [vi for vi in g.value_info if not vi.name.endswith("_int")]
        del g.value_info[:]
        g.value_info.extend(keep)
    return changed


def _attrs(node) -> dict:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _qdq_ops() -> list[type]:
    """QuantizeLinear/DequantizeLinear for the reference evaluator at every opset (its
    own start at opset 19; opsets 13 to 18 define the same computation for per-tensor
    and per-axis parameters). Newer attributes (block size, output type) keep their
    defaults."""
    from onnx.reference.ops.op_dequantize_linear import _CommonDequantizeLinear
    from onnx.reference.ops.op_quantize_linear import _CommonQuantizeLinear

    class DequantizeLinear(_CommonDequantizeLinear):
        op_domain = ""

        def _run(self, x, scale, zero_point=None, axis: int = 1, **_ignored):
            return super()._run(x, scale, zero_point, axis=axis)

    class QuantizeLinear(_CommonQuantizeLinear):
        op_domain = ""

        def _run(self, x, scale, zero_point=None, axis: int = 1, saturate: int = 1, **_ignored):
            return super()._run(x, scale, zero_point, axis=axis, saturate=bool(saturate))

    return [DequantizeLinear, QuantizeLinear]


def fold_shape_subgraphs(model, where: str):
    """``model`` with every constant-computable node replaced by an initializer."""
    from onnx import numpy_helper

    for _ in range(MAX_ROUNDS):
        _drop_partial_value_info(model)
        push_dequantize_down(model)
        shapes = _static_shapes(model)
        nodes, sources, kept = _foldable(model, shapes)
        if len(nodes) == len(kept):
            break
        values = _evaluate(model, nodes, sources, shapes, where)
        g = model.graph
        folded = {id(n) for n in nodes} - kept
        used = {i for n in g.node if id(n) not in folded for i in n.input}
        keep = [n for n in g.node if id(n) not in folded]
        still_made = {o for n in keep for o in n.output}
        for name, value in values.items():
            if name not in used or name in still_made:
                continue
            arr = np.asarray(value)
            if arr.size > MAX_ELEMENTS:
                raise FrontendError(
                    f"{where}: constant '{name}' computed from the shapes has {arr.size} values"
                )
            g.initializer.append(numpy_helper.from_array(arr, name))
        del g.node[:]
        g.node.extend(keep)
        _drop_unused(model)
    return model


def _drop_partial_value_info(model) -> None:
    """Forget value_info entries with unknown or symbolic dimensions (written by a tool
    that could not see through the shape arithmetic) and those of initializers, so that
    shape inference computes them again from the folded graph."""
    g = model.graph
    inits = {i.name for i in g.initializer}
    keep = []
    for vi in g.value_info:
        t = vi.type.tensor_type if vi.type.HasField("tensor_type") else None
        static = (
            t is not None
            and t.HasField("shape")
            and all(d.HasField("dim_value") for d in t.shape.dim)
        )
        if static and vi.name not in inits:
            keep.append(vi)
    del g.value_info[:]
    g.value_info.extend(keep)


def _drop_unused(model) -> None:
    """Remove initializers and Constant nodes nothing reads any more."""
    g = model.graph
    used = {i for n in g.node for i in n.input} | {o.name for o in g.output}
    keep_init = [i for i in g.initializer if i.name in used]
    del g.initializer[:]
    g.initializer.extend(keep_init)
    keep = [n for n in g.node if n.op_type != "Constant" or n.output[0] in used]
    del g.node[:]
    g.node.extend(keep)


MOVABLE_LAYOUT = ("Reshape", "Transpose", "Flatten", "Squeeze", "Unsqueeze", "Identity")


def quantize_input_first(model):
    """``input -> layout ops -> QuantizeLinear -> DequantizeLinear`` gets its
    quantization on the input itself: ``input -> QuantizeLinear -> DequantizeLinear ->
    layout ops -> ...`` (onnxruntime's ``quant_pre_process`` puts float Reshapes before
    the first quantized Gemms). A per-tensor quantization commutes with a layout change,
    so this is exact when every layout op's output is quantized with the same scale and
    zero point; the QuantizeLinear after each layout op then requantizes to its own
    scale, i.e. does nothing."""
    from onnx import helper

    g = model.graph
    inits = {i.name: i for i in g.initializer}
    ins = [vi.name for vi in g.input if vi.name not in inits]
    if len(ins) != 1:
        return model
    x = ins[0]
    users = [n for n in g.node if x in n.input]
    if not users or any(u.op_type not in MOVABLE_LAYOUT or u.input[0] != x for u in users):
        return model
    qs = []
    for u in users:
        after = [n for n in g.node if u.output[0] in n.input]
        if len(after) != 1 or after[0].op_type != "QuantizeLinear":
            return model
        qs.append(after[0])
    params = {tuple(_init_bytes(inits, n) for n in q.input[1:3]) for q in qs}
    if len(params) != 1 or None in next(iter(params)):
        return model
    q0 = qs[0]
    quant = helper.make_node("QuantizeLinear", [x, *q0.input[1:]], [x + "_q"], name=x + "_q")
    deq = helper.make_node(
        "DequantizeLinear", [x + "_q", *q0.input[1:]], [x + "_dq"], name=x + "_dq"
    )
    for u in users:
        u.input[0] = x + "_dq"
    nodes = [quant, deq, *g.node]
    del g.node[:]
    g.node.extend(nodes)
    return model


def _init_bytes(inits: dict, name: str) -> bytes | None:
    """The value of an initializer (type and data), None when it is not one."""
    from onnx import numpy_helper

    t = inits.get(name)
    if t is None:
        return None
    arr = numpy_helper.to_array(t)
    return arr.dtype.str.encode() + repr(arr.shape).encode() + arr.tobytes()
