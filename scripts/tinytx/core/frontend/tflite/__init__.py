"""The TFLite frontend: full-integer int8 models of the TFLite converter to the tinytx IR.

``load_tflite(path, name)`` returns an :class:`tinytx.core.ir.Model`; anything it cannot
convert raises :class:`FrontendError` (one line: the file, the operator index, its builtin
name and what would be accepted). :mod:`.reader` reads the flatbuffer, :mod:`.quantization`
checks TFLite's int8 spec, :mod:`.lower` emits the IR ops.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from tinytx.core import ir
from tinytx.core.errors import UserInputError
from tinytx.core.frontend.onnx import default_name, model_name, named_error
from tinytx.core.frontend.onnx.graph import FrontendError
from tinytx.core.frontend.tflite.lower import SUPPORTED, Lowering
from tinytx.core.frontend.tflite.reader import read_bytes, read_tflite

__all__ = ["SUPPORTED", "FrontendError", "load_tflite"]


#: ``arith`` of :func:`load_tflite`: TFLite's own int8 steps where the IR has them (equal to
#: the interpreter), or tinytx's one-step integer operators (faster, a few LSB apart).
ARITH_MODES = ("match", "fast")


def load_tflite(
    source: str | Path | bytes,
    name: str | None = None,
    arith: str = "match",
    exact_attention: bool = True,
) -> ir.Model:
    """Convert a full-integer int8 ``.tflite`` model (a path or the file's bytes) to the IR;
    ``arith``: one of :data:`ARITH_MODES` ("match": the LayerNorms and attention blocks in
    TFLite's steps; "fast": tinytx's LayerNorm and fused attention op);
    ``exact_attention=False``: with "match", the attention blocks as IR MHSA blocks all the
    same (the fused form, statistical agreement)."""
    if arith not in ARITH_MODES:
        raise UserInputError(
            f"--tflite-arith: expected one of {', '.join(ARITH_MODES)}, got {arith!r}"
        )
    data, where = read_bytes(source)
    name = default_name(where) if name is None else name
    graph = read_tflite(data, where)
    try:
        model = Lowering(graph, model_name(name), arith, exact_attention).lower()
    except FrontendError as exc:
        raise named_error(exc, where) from None
    return ir.Model(
        name=model.name,
        tensors=model.tensors,
        ops=model.ops,
        input=model.input,
        output=model.output,
        input_spec=model.input_spec,
        output_spec=model.output_spec,
        source_sha256=hashlib.sha256(data).hexdigest(),
    )
