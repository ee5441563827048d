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

__all__ = ["FrontendError", "default_name", "load_onnx", "model_name", "named_error"]


def model_name(text: str) -> str:
    """A C identifier (lower case) for a model, from a file stem or a user's name."""
    name = re.sub(r"\W+", "_", text).strip("_").lower() or "model"
    return ("m_" + name if name[0].isdigit() else name)[:40]


def default_name(where: str) -> str:
    """The name of a model file when the user gives none: its stem; a ``model.*`` after
    its directory or, in a ``model/`` directory, after the one above (every frontend)."""
    if where == "<bytes>":
        return "model"
    name = Path(where).stem
    if name == "model":
        name = Path(where).resolve().parent.name
        if name in ("model", ""):
            name = Path(where).resolve().parent.parent.name or "model"
    return name


def named_error(exc: FrontendError, where: str) -> FrontendError:
    """``exc`` as one line that starts with the model file."""
    msg = str(exc)
    return FrontendError(msg if msg.startswith(f"{where}: ") else f"{where}: {msg}")


def load_onnx(source: str | Path | bytes, name: str | None = None) -> ir.Model:
    """Convert an int8 QDQ ONNX model (a path or the file's bytes) to the IR."""
    data, where = read_model_bytes(source)
    sha = hashlib.sha256(data).hexdigest()
    name = default_name(where) if name is None else name
    proto = parse(data, where)
    try:
        proto = quantize_input_first(fold_shape_subgraphs(proto, where))
        return lower_graph(build_graph(proto, where, sha), model_name(name))
    except FrontendError as exc:
        raise named_error(exc, where) from None
