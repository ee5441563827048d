"""numpy arrays as C99 definitions: stable, readable, one array per definition."""

from __future__ import annotations

import numpy as np

C_TYPES = {
    np.dtype(np.int8): "int8_t",
    np.dtype(np.uint8): "uint8_t",
    np.dtype(np.uint16): "uint16_t",
    np.dtype(np.int32): "int32_t",
}
PER_LINE = {1: 16, 2: 12, 4: 8}


def c_type(array: np.ndarray) -> str:
    try:
        return C_TYPES[array.dtype]
    except KeyError:
        raise ValueError(f"array: dtype {array.dtype} has no C type mapping") from None


def c_array_definition(
    name: str,
    array: np.ndarray,
    section: str | None = None,
    *,
    prefix: str | None = None,
    storage: str = "",
) -> str:
    """``const <type> name[N] = {...};`` with the shape in a comment, 4-byte aligned.

    ``prefix``: the declaration's placement as a line before it, in the portable macros of
    ``tinytx/compiler.h`` (e.g. ``TINYTX_WEIGHTS_SECTION TINYTX_ALIGNED(4)``) instead of
    GCC attributes (``section``); ``storage``: ``"static "`` or empty."""
    flat = np.ascontiguousarray(array).ravel()
    per_line = PER_LINE.get(flat.dtype.itemsize, 8)
    head = f"{storage}const {c_type(array)} {name}[{flat.size}]"
    if prefix is not None:
        decl = [prefix, f"{head} = {{"]
    else:
        attrs = "__attribute__((aligned(4)))"
        if section:
            attrs += f' __attribute__((section("{section}")))'
        decl = [f"{head} {attrs} = {{"]
    lines = [f"/* {'x'.join(str(d) for d in array.shape)} */", *decl]
    for i in range(0, flat.size, per_line):
        lines.append("\t" + ", ".join(str(int(v)) for v in flat[i : i + per_line]) + ",")
    lines.append("};")
    return "\n".join(lines) + "\n"


def c_array_declaration(name: str, array: np.ndarray) -> str:
    return f"extern const {c_type(array)} {name}[{array.size}];\n"
