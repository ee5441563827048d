"""The ONNX frontend: int8 QDQ models (onnxruntime ``quantize_static`` with symmetric
activations, PyTorch's export of quantized models) to the tinytx IR.

``load_onnx(path)`` returns an :class:`tinytx.core.ir.Model`; anything it cannot convert raises
:class:`FrontendError` (a :class:`tinytx.core.errors.TinytxError`) naming the node, the op and
what would be accepted.

The steps: :mod:`.fold` turns the shape arithmetic into initializers (static input
shape, batch 1) and moves the input's quantization ahead of float layout ops;
:mod:`.graph` reads the QDQ model as a float graph with scales; :mod:`.rewrite` makes
exact local rewrites; :mod:`.attention` and :mod:`.patterns` fuse attention, GELU and
LayerNorm; :mod:`.lower` (with :mod:`.tokens` for token selection and class tokens)
emits the IR ops.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from tinytx.core import ir
from tinytx.core.frontend.onnx.fold import fold_shape_subgraphs, quantize_input_first
from tinytx.core.frontend.onnx.graph import FrontendError, build_graph, parse, read_model_bytes
from tinytx.core.frontend.onnx.lower import lower_graph

__all__ = ["FrontendError", "load_onnx", "model_name"]


def model_name(text: str) -> str:
    """A C identifier (lower case) for a model, from a file stem or a user's name."""
    name = re.sub(r"\W+", "_", text).strip("_").lower() or "model"
    return ("m_" + name if name[0].isdigit() else name)[:40]


def load_onnx(source: str | Path | bytes, name: str | None = None) -> ir.Model:
    """Convert an int8 QDQ ONNX model (a path or the file's bytes) to the IR."""
    data, where = read_model_bytes(source)
    sha = hashlib.sha256(data).hexdigest()
    if name is None:
        name = Path(where).stem if where != "<bytes>" else "model"
        if name == "model" and where != "<bytes>":
            name = Path(where).resolve().parent.name
            if name in ("model", ""):
                name = Path(where).resolve().parent.parent.name or "model"
    proto = parse(data, where)
    try:
        proto = quantize_input_first(fold_shape_subgraphs(proto, where))
        return lower_graph(build_graph(proto, where, sha), model_name(name))
    except FrontendError as exc:
        msg = str(exc)
        raise FrontendError(msg if msg.startswith(f"{where}: ") else f"{where}: {msg}") from None
