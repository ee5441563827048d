"""The C is the only definition of scratch sizes, scratch layouts and kernel limits: the
Python package asks the host-compiled C (tinytx.core.kernel_abi) and keeps no copy.

This test fails when a copy comes back into scripts/tinytx, by reading the source (ast):

1. no function of the removed Python mirrors of ``*_get_buffer_size`` and of the
   attention layouts is defined again, nor the constants they used;
2. every function whose name says it gives a scratch size or a scratch layout
   (``*scratch_bytes``, ``*buffer_size``, ``*scratch*layout``, ``*attention_layout``,
   ``*head_bytes``, ``*_peak``, ``qk_scratch``) gets its number from the C: its body calls
   the ABI (``kernel_abi``, a ``KernelAbi`` method such as ``*_buffer_size``), a
   :class:`~tinytx.core.plan.scratch.KernelScratch` method or a built firmware's size
   function in an emulator, directly or through another such function;
3. no integer constant in code (strings and docstrings aside) has the value of a kernel
   limit of kernels/include/tinytx/types.h (values read from the C) or of the removed
   arm conv band limit, except the few uses listed in ``NOT_LIMITS``, each with why it is
   no kernel limit.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tinytx.core.golden.limits import C_NAMES
from tinytx.core.kernel_abi import kernel_abi

PACKAGE = Path(__file__).resolve().parents[2] / "scripts" / "tinytx"
ABI_MODULE = PACKAGE / "core" / "kernel_abi.py"

REMOVED_FUNCTIONS = {
    "arm_conv2d_scratch_bytes",
    "fwsa_scratch_bytes",
    "arm_linear_scratch_bytes",
    "reference_scratch",
    "mhsa_scratch_bytes",
    "arm_mhsa_scratch_bytes",
    "qk_scratch_bytes",
    "dft_scratch_layout",
    "arm_attention_layout",
    "arm_dft_scratch_bytes",
    "arm_fwsa_scratch_bytes",
}
REMOVED_NAMES = {"ARM_CONV_BAND_MAX", "XROWS_MIN", "MAX_K", "MAX_KV", "MAX_E", "MAX_DIM",
                 "MAX_WINDOW", "BIAS_BOUND", "Q_ONE_LIMIT", "ADD_MULTIPLIER_MAX",
                 "ADD_SHIFT_MAX", "SHIFT_MAX"}  # fmt: skip
SIZE_NAMES = ("scratch_bytes", "buffer_size", "attention_layout", "head_bytes")
SIZE_EXACT = {"qk_scratch", "dft_peak", "dft_head_peak", "layerwise_peak"}
# calls that reach the C: the ABI, its methods, KernelScratch's methods
C_CALLS = {
    "kernel_abi", "buffer_size", "linear_buf_buffer_size", "qk_softmax_buffer_size",
    "mhsa_buffer_size", "mhsa_dft_buffer_size", "fwsa_buffer_size", "fwsa_dft_buffer_size",
    "conv2d_buffer_size", "attention_layout", "attention", "linear", "conv2d", "qk_softmax",
    "attention_head_bytes", "constant",
    "call",  # a built firmware's own *_get_buffer_size, run in an emulator
}  # fmt: skip
ARM_CONV_BAND = 65536  # the removed mirror's copy of the arm conv2d band limit
# (file under scripts/tinytx, value) -> why that constant is no kernel limit
NOT_LIMITS = {
    ("core/codegen/model.py", 1 << 30): "multiplier of the unused per-tensor factor 1/2",
    ("core/vectors/generators.py", 1 << 30): "multiplier of the unused per-tensor factor 1/2",
    ("core/golden/mul.py", 1 << 30): "Q31 arithmetic: the rounding nudge, the mantissa range",
    ("core/vectors/generators.py", 4096): "a long token mean (4096 rows, under the limit)",
    ("core/vectors/generators.py", 1024): "a LayerNorm width among powers of two",
    ("core/frontend/onnx/graph.py", 1 << 22): "the frontend's cap on tensor elements",
    ("core/plan/costs.py", 4096): "an lru_cache size",
    ("toolchain/report/plot.py", 1024): "bytes per KiB",
    ("toolchain/report/mapfile.py", 65536): "bytes of a file read to sniff its kind",
    ("toolchain/report/mapfile.py", 4096): "bytes of a file read to sniff its kind",
    ("toolchain/emu/unicorn_arm.py", 4096): "emulator page size",
    ("toolchain/emu/unicorn_arm.py", 1 << 30): "emulator address",
    ("toolchain/emu/unicorn_riscv.py", 4096): "emulator page size",
    ("toolchain/emu/unicorn_riscv.py", 1 << 30): "emulator address",
    ("toolchain/bench/elementwise.py", 4096): "the range of random LayerNorm betas",
    ("toolchain/bench/fwsa_cases.py", 65536): "heap slack of a benchmark build",
}


def sources() -> list[tuple[str, ast.Module]]:
    return [
        (str(p.relative_to(PACKAGE)), ast.parse(p.read_text(), str(p)))
        for p in sorted(PACKAGE.rglob("*.py"))
        if p != ABI_MODULE
    ]


def _const(node: ast.AST) -> int | None:
    """The value of an integer constant expression (``65535``, ``1 << 30``, ``2**30``)."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        v = _const(node.operand)
        return None if v is None else -v
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.LShift, ast.Pow, ast.Sub)):
        a, b = _const(node.left), _const(node.right)
        if a is None or b is None or not 0 <= b < 64:
            return None
        if isinstance(node.op, ast.LShift):
            return a << b
        return a**b if isinstance(node.op, ast.Pow) else a - b
    return None


def _called(node: ast.AST) -> set[str]:
    names = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Call):
            f = n.func
            names.add(f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", ""))
    return names


def _is_size_function(name: str) -> bool:
    return name in SIZE_EXACT or any(name.endswith(s) for s in SIZE_NAMES)


def test_the_removed_mirrors_stay_removed() -> None:
    found = []
    for rel, tree in sources():
        for n in ast.walk(tree):
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if n.name in REMOVED_FUNCTIONS:
                    found.append(f"{rel}:{n.lineno}: def {n.name}")
            elif isinstance(n, ast.Assign):
                for t in n.targets:
                    if isinstance(t, ast.Name) and t.id in REMOVED_NAMES:
                        found.append(f"{rel}:{n.lineno}: {t.id} =")
    assert not (PACKAGE / "core" / "plan" / "arm_attention.py").exists()
    assert found == [], "Python copies of C sizes or limits:\n" + "\n".join(found)


def test_size_functions_ask_the_c() -> None:
    functions: dict[str, list[tuple[str, ast.FunctionDef]]] = {}
    for rel, tree in sources():
        for n in ast.walk(tree):
            if isinstance(n, ast.FunctionDef) and _is_size_function(n.name):
                functions.setdefault(n.name, []).append((rel, n))
    assert {"dft_peak", "qk_scratch", "dft_head_peak", "bench_scratch_bytes"} <= set(functions)
    reach = set(C_CALLS)
    changed = True
    while changed:  # a size function may ask another size function that asks the C
        changed = False
        for name, defs in functions.items():
            if name not in reach and all(_called(fn) & reach for _, fn in defs):
                reach.add(name)
                changed = True
    bad = [
        f"{rel}:{fn.lineno}: {name} computes a size without the C"
        for name, defs in functions.items()
        for rel, fn in defs
        if not _called(fn) & reach
    ]
    assert bad == [], "\n".join(bad)


def test_no_kernel_limit_literals() -> None:
    abi = kernel_abi("ref")
    limits = {abi.constant(c) for c in C_NAMES.values()}
    # small limits (shift bounds 31, 62) are everyday numbers; the large ones are not
    values = {v for v in limits if v is not None and v >= 1000} | {ARM_CONV_BAND}
    assert {65535, 1024, 4096, 1 << 30, 32767} <= values  # read from the C
    found = []
    for rel, tree in sources():
        for n in ast.walk(tree):
            v = _const(n)
            if v is None or abs(v) not in values or (rel, abs(v)) in NOT_LIMITS:
                continue
            found.append(f"{rel}:{n.lineno}: {v}")
    assert found == [], "kernel limits copied into Python (use kernel_limits()):\n" + "\n".join(
        sorted(set(found))
    )
