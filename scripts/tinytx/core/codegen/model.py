"""model.c / model.h for a planned IR model: const weights, the static schedule as
straight-line kernel calls into one arena, and ``tinytx_<name>_run``.

Stable by construction: the output depends only on the model and the plan (no dates,
no absolute paths), so the same .onnx gives the same bytes. The kernel variant (ref,
arm, riscv) is chosen when the firmware is built; the generated code calls the public
kernel API only. The plan is for one kernel variant's scratch sizes on a number of cores
(``TINYTX_<NAME>_CORES``): the run function first checks that the firmware runs its kernels
on that many cores (``tinytx_parallel_num_cores()``, else ``TINYTX_<NAME>_ERR_CORES``), and
each scratch-using call gets its planned slice of the arena as a ``tinytx_context`` (the
kernel refuses a slice smaller than its ``*_get_buffer_size`` for the cores it runs on with
``TINYTX_ERR_SCRATCH``, before touching memory).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinytx import __version__
from tinytx.core import ir
from tinytx.core.codegen.carray import c_array_definition
from tinytx.core.golden import ChannelRequant, Requant
from tinytx.core.plan.planning import ModelPlan, mhsa_shape

WEIGHTS_SECTION = ".rodata.tinytx_weights"
LAYOUT_TOKEN_MAJOR = "TINYTX_LAYOUT_TOKEN_MAJOR"
#: The run function's status when the firmware runs another number of cores than planned
#: (a model status of its own, below every tinytx_status).
ERR_CORES = -16


_CALLED = re.compile(r"\b(tinytx_\w+)\(")


@dataclass(frozen=True)
class KernelCall:
    """One layer of the schedule as ``tinytx_<name>_run`` executes it: the op's name, its
    kernel, its MACs, and every C function the run function calls for it, in call order
    (the kernel, once per image in a loop).
    The profiler (:mod:`tinytx.toolchain.bench.profile`) attributes instructions with it."""

    layer: str
    function: str
    macs: int
    calls: tuple[str, ...]


@dataclass(frozen=True)
class ScratchSlot:
    """A kernel call's planned scratch: ``size`` bytes at ``arena + offset``, passed to the
    kernel as the ``tinytx_context`` named ``name``."""

    name: str
    offset: int
    size: int

    def declaration(self) -> str:
        return f"const tinytx_context {self.name} = {{arena + {self.offset}, {self.size}}};"


@dataclass(frozen=True)
class GeneratedModel:
    name: str
    header: str
    source: str
    calls: tuple[KernelCall, ...] = ()  # the run function's kernel calls, in order
    # what the run function calls before the first layer (its check of the cores)
    prologue: tuple[str, ...] = ("tinytx_parallel_num_cores",)

    def write(self, out_dir: Path) -> tuple[Path, Path]:
        out_dir.mkdir(parents=True, exist_ok=True)
        h, c = out_dir / "model.h", out_dir / "model.c"
        h.write_text(self.header)
        c.write_text(self.source)
        return c, h


def _rq(rq: Requant | ChannelRequant) -> str:
    """A tinytx_requant initializer (per-channel: a valid unused factor, the zero point)."""
    if isinstance(rq, ChannelRequant):
        return f"{{{1 << 30}, 31, {rq.zero_point}}}"
    return f"{{{rq.multiplier}, {rq.shift}, {rq.zero_point}}}"


def _act(lo: int, hi: int) -> str:
    return f"{{{lo}, {hi}}}"


def _float(v: float) -> str:
    return f"{v:.9g}f" if "e" in f"{v:.9g}" or "." in f"{v:.9g}" else f"{v:.9g}.0f"


def comment_text(text: str) -> str:
    """``text`` safe inside a C comment: printable ASCII, no comment delimiters."""
    clean = "".join(c if 32 <= ord(c) < 127 else "?" for c in text)
    return clean.replace("*/", "*_/").replace("/*", "/_*")


def _comment_lines(lines: list[str]) -> list[str]:
    return [f" * {comment_text(ln)}".rstrip() for ln in lines]


class _Emitter:
    def __init__(self, plan: ModelPlan, source_name: str) -> None:
        self.plan = plan
        self.model = plan.model
        self.name = self.model.name
        self.upper = self.name.upper()
        self.source_name = source_name
        self.arrays: list[str] = []
        self.structs: list[str] = []
        self.body: list[str] = []
        self.loops = False
        self.calls: list[KernelCall] = []
        self.cores = f"TINYTX_{self.upper}_CORES"

    # -- pointers
    def ptr(self, tensor: str, const: bool) -> str:
        where, off = self.plan.places[tensor]
        if where == "in":
            base = "in"
            return base if const else f"(int8_t *){base}"
        if where == "out":
            return "(const int8_t *)out" if const else "out"
        cast = "(const int8_t *)" if const else "(int8_t *)"
        return f"{cast}(arena + {off})"

    def array(self, op: ir.Op, field: str, data: np.ndarray | None) -> str:
        if data is None:
            return "NULL"
        name = f"{op.name}_{field}"
        text = c_array_definition(name, np.ascontiguousarray(data), WEIGHTS_SECTION)
        self.arrays.append(text.replace("\nconst ", "\nstatic const ", 1))
        return name

    def channels(self, op: ir.Op, rq: Requant | ChannelRequant, prefix: str = "") -> str:
        """``multipliers, shifts`` arguments of a params initializer (NULL: per-tensor)."""
        if not isinstance(rq, ChannelRequant):
            return "NULL, NULL"
        m, s = rq.arrays()
        return f"{self.array(op, prefix + 'mult', m)}, {self.array(op, prefix + 'shift', s)}"

    def struct(self, ctype: str, name: str, init: str) -> str:
        self.structs.append(f"static const {ctype} {name} = {init};")
        return name

    def scratch(self, op: ir.Op) -> ScratchSlot | None:
        """The op's planned scratch (None: none planned)."""
        if op.name not in self.plan.scratch:
            return None
        off, size = self.plan.scratch[op.name]
        return ScratchSlot(f"{op.name}_ctx", off, size) if size > 0 else None

    def context(self, slot: ScratchSlot | None) -> str:
        """The kernel's scratch argument (NULL: none planned)."""
        return "NULL" if slot is None else f"&{slot.name}"

    def call(self, op: ir.Op, text: str, slot: ScratchSlot | None = None) -> None:
        t_in = ", ".join(f"{n} {list(self.model.tensors[n].shape)}" for n in op.inputs)
        t_out = self.model.tensors[op.output]
        self.body.append(f"\t/* {op.name}: {comment_text(op.source)} */")
        self.body.append(f"\t/* {t_in} -> {op.output} {list(t_out.shape)} */")
        if slot is not None:
            self.body.append(f"\t/* scratch: {slot.size} bytes at arena + {slot.offset}, the "
                             f"C size for {self.cores} cores */")  # fmt: skip
            self.body.append(f"\t{slot.declaration()}")
        for line in text.splitlines():
            self.body.append("\t" + line)
        kernel = _CALLED.findall(text)[0]
        times = self.images(op) if text.startswith("for (") else 1
        macs = ir.op_macs(self.model, op)
        self.calls.append(KernelCall(op.name, kernel, macs, (kernel,) * times))
        if not text.startswith("for ("):  # a loop checks each call itself
            self.body.append("\tif (st != TINYTX_OK) {")
            self.body.append("\t\treturn st;")
            self.body.append("\t}")

    # -- ops
    def emit(self, op: ir.Op) -> None:
        t = self.model.tensors
        x, y = self.ptr(op.inputs[0], True), self.ptr(op.output, False)
        if isinstance(op, ir.View):
            return
        if isinstance(op, ir.Linear):
            n, k = op.weight.shape
            rows = t[op.output].size // n
            dims = self.struct(
                "tinytx_linear_dims",
                f"{op.name}_dims",
                f"{{{rows}, {k}, {n}, 1, {LAYOUT_TOKEN_MAJOR}}}",
            )
            par = self.struct(
                "tinytx_linear_params",
                f"{op.name}_params",
                f"{{{_rq(op.rq)}, {_act(op.rq.act_min, op.rq.act_max)}, "
                f"{self.channels(op, op.rq)}}}",
            )
            w, b = self.array(op, "w", op.weight), self.array(op, "b", op.bias)
            slot = self.scratch(op)
            if slot is None:  # no scratch planned: the scratch-free kernel
                self.call(op, f"st = tinytx_linear_s8(&{dims}, &{par}, {x}, {w}, {b}, {y});")
            else:
                ctx = self.context(slot)
                call = f"st = tinytx_linear_buf_s8(&{dims}, &{par}, {x}, {w}, {b}, {y}, {ctx});"
                self.call(op, call, slot)
        elif isinstance(op, ir.Mhsa):
            self.mhsa(op, x, y)
        elif isinstance(op, ir.LayerNorm):
            rows, e = t[op.inputs[0]].shape
            dims = self.struct("tinytx_layernorm_dims", f"{op.name}_dims", f"{{{rows}, {e}}}")
            par = self.struct(
                "tinytx_layernorm_params", f"{op.name}_params", f"{{{_rq(op.rq)}, {op.eps_q16}}}"
            )
            g, b = self.array(op, "gamma", op.gamma), self.array(op, "beta", op.beta)
            self.call(op, f"st = tinytx_layernorm_s8(&{dims}, &{par}, {x}, {g}, {b}, {y});")
        elif isinstance(op, ir.Gelu):
            p = op.params
            par = self.struct(
                "tinytx_gelu_params",
                f"{op.name}_params",
                f"{{{p.q_clip}, {p.q_one}, {_rq(p.rq)}, {p.input_zero_point}}}",
            )
            self.call(op, f"st = tinytx_gelu_s8({t[op.output].size}, &{par}, {x}, {y});")
        elif isinstance(op, ir.Lut):
            table = self.array(op, "table", op.table)
            self.body.append(f"\t/* {op.name}: table of {comment_text(op.function or '?')} */")
            self.call(op, f"st = tinytx_lut_s8({t[op.output].size}, {table}, {x}, {y});")
        elif isinstance(op, ir.Add):
            p = op.params
            par = self.struct(
                "tinytx_add_params",
                f"{op.name}_params",
                f"{{{p.m_a}, {p.m_b}, {p.shift}, {_act(p.act_min, p.act_max)}, {p.offset}, "
                f"{p.zero_point}}}",
            )
            b = self.array(op, "b", op.b_const) if op.b_const is not None else None
            if b is None:
                b = self.ptr(op.inputs[1], True)
            size = t[op.output].size
            self.call(op, f"st = tinytx_add_s8({size}, &{par}, {x}, {b}, {y});")
        elif isinstance(op, ir.Conv2d):
            self.conv(op)
        elif isinstance(op, (ir.MaxPool, ir.AvgPool)):
            self.pool(op)
        elif isinstance(op, ir.MeanRows):
            rows, e = t[op.inputs[0]].shape
            dims = self.struct("tinytx_mean_rows_dims", f"{op.name}_dims", f"{{{rows}, {e}}}")
            par = self.struct(
                "tinytx_mean_rows_params",
                f"{op.name}_params",
                f"{{{_rq(op.rq)}, {_act(op.rq.act_min, op.rq.act_max)}, {op.input_zero_point}}}",
            )
            self.call(op, f"st = tinytx_mean_rows_s8(&{dims}, &{par}, {x}, {y});")
        else:  # pragma: no cover
            raise TypeError(f"no code generation for {type(op).__name__}")

    def mhsa(self, op: ir.Mhsa, x: str, y: str) -> None:
        sh = mhsa_shape(self.model, op)
        dims = self.struct(
            "tinytx_mhsa_dims",
            f"{op.name}_dims",
            f"{{{sh.seq_len}, {sh.embed_dim}, {sh.heads}, {sh.head_dim}}}",
        )
        slot = self.scratch(op)
        ctx = self.context(slot)
        tile = f"{op.tile}, " if op.variant == "dft" else ""
        kind = "fwsa" if op.fwsa is not None else "mhsa"
        func = f"tinytx_{kind}_dft_s8" if op.variant == "dft" else f"tinytx_{kind}_s8"
        if op.fwsa is not None:
            fw, fq = op.fwsa.weights, op.fwsa.quant
            fields = ("wt", "bt", "wv", "bv", "wo", "bo")
            names = [self.array(op, f, getattr(fw, f)) for f in fields]
            rqs = ", ".join(_rq(getattr(fq, f)) for f in ("t", "v", "softmax", "av", "out"))
        else:
            fields = ("wq", "bq", "wk", "bk", "wv", "bv", "wo", "bo")
            names = [self.array(op, f, getattr(op.weights, f)) for f in fields]
            names += [
                "{" + self.channels(op, getattr(op.quant, f), f"{f}_") + "}"
                for f in ("q", "k", "v", "out")
            ]
            rqs = ", ".join(
                _rq(getattr(op.quant, f)) for f in ("q", "k", "v", "softmax", "av", "out")
            )
        wts = self.struct(
            f"tinytx_{kind}_weights", f"{op.name}_weights", "{" + ", ".join(names) + "}"
        )
        par = self.struct(f"tinytx_{kind}_params", f"{op.name}_params", "{" + rqs + "}")
        call = f"st = {func}(&{dims}, {tile}&{par}, &{wts}, {x}, {y}, {ctx});"
        self.call(op, call, slot)

    def images(self, op: ir.Op) -> int:
        return self.model.tensors[op.inputs[0]].shape[0]

    def _per_image(self, op: ir.Op, call: str) -> str:
        t = self.model.tensors
        n = t[op.inputs[0]].shape[0]
        if n == 1:
            return call.replace("@IN", "").replace("@OUT", "")
        self.loops = True
        in_step = t[op.inputs[0]].size // n
        out_step = t[op.output].size // n
        call = call.replace("@IN", f" + i * {in_step}").replace("@OUT", f" + i * {out_step}")
        lines = [
            f"for (i = 0; i < {n}; i++) {{",
            "\t" + call,
            "\tif (st != TINYTX_OK) {",
            "\t\treturn st;",
            "\t}",
            "}",
        ]
        return "\n".join(lines)

    def conv(self, op: ir.Conv2d) -> None:
        t = self.model.tensors
        _, ih, iw, ic = t[op.inputs[0]].shape
        _, oh, ow, oc = t[op.output].shape
        if isinstance(op, ir.DepthwiseConv2d):
            kh, kw = op.weight.shape[:2]
        else:
            kh, kw = op.weight.shape[1:3]
        geo = [ih, iw, ic, oh, ow, oc, kh, kw, *op.stride, *op.pad]
        dims = self.struct(
            "tinytx_conv2d_dims", f"{op.name}_dims", "{" + ", ".join(str(int(v)) for v in geo) + "}"
        )
        w, b = self.array(op, "w", op.weight), self.array(op, "b", op.bias)
        par = self.struct(
            "tinytx_conv2d_params",
            f"{op.name}_params",
            f"{{{_rq(op.rq)}, {_act(op.rq.act_min, op.rq.act_max)}, {op.pad_value}, "
            f"{self.channels(op, op.rq)}}}",
        )
        x, y = self.ptr(op.inputs[0], True), self.ptr(op.output, False)
        if isinstance(op, ir.DepthwiseConv2d):
            call = f"st = tinytx_depthwise_conv2d_s8(&{dims}, &{par}, {x}@IN, {w}, {b}, {y}@OUT);"
            self.call(op, self._per_image(op, call))
            return
        slot = self.scratch(op)
        ctx = self.context(slot)
        call = f"st = tinytx_conv2d_s8(&{dims}, &{par}, {x}@IN, {w}, {b}, {y}@OUT, {ctx});"
        self.call(op, self._per_image(op, call), slot)

    def pool(self, op: ir.MaxPool | ir.AvgPool) -> None:
        t = self.model.tensors
        _, ih, iw, c = t[op.inputs[0]].shape
        _, oh, ow, _ = t[op.output].shape
        geo = [ih, iw, c, oh, ow, *op.kernel, *op.stride, *op.pad]
        dims = self.struct(
            "tinytx_pool2d_dims", f"{op.name}_dims", "{" + ", ".join(str(int(v)) for v in geo) + "}"
        )
        x, y = self.ptr(op.inputs[0], True), self.ptr(op.output, False)
        if isinstance(op, ir.MaxPool):
            call = f"st = tinytx_maxpool2d_s8(&{dims}, {x}@IN, {y}@OUT);"
        else:
            init = (
                f"{{{_rq(op.rq)}, {_act(op.rq.act_min, op.rq.act_max)}, "
                f"{int(op.count_include_pad)}, {op.input_zero_point}}}"
            )
            par = self.struct("tinytx_avgpool2d_params", f"{op.name}_params", init)
            call = f"st = tinytx_avgpool2d_s8(&{dims}, &{par}, {x}@IN, {y}@OUT);"
        self.call(op, self._per_image(op, call))


def header_comment(plan: ModelPlan, source_name: str) -> list[str]:
    m = plan.model
    tin, tout = m.tensors[m.input], m.tensors[m.output]
    lines = [
        f"tinytx model '{m.name}': generated by tinytx {__version__}; do not edit.",
        f"source: {source_name}",
        f"sha256: {m.source_sha256}",
        "",
        f"input '{m.input_spec.onnx_name}' {list(m.input_spec.onnx_shape)}: int8, scale "
        f"{tin.scale:.9g}, zero point {tin.zero_point}, bytes in axis order "
        f"{list(m.input_spec.perm)}",
        f"output '{m.output_spec.onnx_name}' {list(m.output_spec.onnx_shape)}: int8, scale "
        f"{tout.scale:.9g}, zero point {tout.zero_point}, bytes in axis order "
        f"{list(m.output_spec.perm)}",
        "real value = scale * (code - zero point); a uint8 tensor of the source model is "
        "these int8 codes + 128",
        f"{len([o for o in m.ops if not isinstance(o, ir.View)])} kernel calls, {m.macs} MACs,"
        f" weights {m.weight_bytes} bytes",
        "",
        "plan:",
        *(f"  {ln}" for ln in plan.describe()),
    ]
    return lines


def generate(plan: ModelPlan, source_name: str = "model.onnx") -> GeneratedModel:
    """model.h and model.c (as text) for a planned model."""
    e = _Emitter(plan, source_name)
    for op in plan.model.ops:
        e.emit(op)
    m = plan.model
    up = e.upper
    comment = ["/*", *_comment_lines(header_comment(plan, source_name)), " */"]
    t_in, t_out = m.tensors[m.input], m.tensors[m.output]
    header = [
        *comment,
        f"#ifndef TINYTX_MODEL_{up}_H",
        f"#define TINYTX_MODEL_{up}_H",
        "",
        "#include <stdint.h>",
        "",
        '#include "tinytx/types.h"',
        "",
        "#ifdef __cplusplus",
        'extern "C" {',
        "#endif",
        "",
        f"#define TINYTX_{up}_ARENA_SIZE {plan.arena_bytes}",
        f"#define TINYTX_{up}_ARENA_ALIGN 4",
        "/* the cores the plan is for: the firmware's tinytx_parallel_num_cores() */",
        f"#define TINYTX_{up}_CORES {plan.cores}",
        "/* run's status when the firmware runs its kernels on another number of cores */",
        f"#define TINYTX_{up}_ERR_CORES ({ERR_CORES})",
        f"#define TINYTX_{up}_INPUT_SIZE {t_in.size}",
        f"#define TINYTX_{up}_OUTPUT_SIZE {t_out.size}",
        f"#define TINYTX_{up}_INPUT_SCALE {_float(t_in.scale)}",
        f"#define TINYTX_{up}_OUTPUT_SCALE {_float(t_out.scale)}",
        f"#define TINYTX_{up}_INPUT_ZERO_POINT {t_in.zero_point}",
        f"#define TINYTX_{up}_OUTPUT_ZERO_POINT {t_out.zero_point}",
        f"#define TINYTX_{up}_MACS {m.macs}",
        f"#define TINYTX_{up}_WEIGHT_BYTES {m.weight_bytes}",
        f'#define TINYTX_{up}_SHA256 "{m.source_sha256}"',
        "",
        "/*",
        f" * Runs the model: in holds TINYTX_{up}_INPUT_SIZE int8 values, out receives",
        f" * TINYTX_{up}_OUTPUT_SIZE; arena is TINYTX_{up}_ARENA_SIZE bytes, 4-byte aligned,",
        " * and must not overlap in or out. Returns TINYTX_OK (0), a negative tinytx_status, or",
        f" * TINYTX_{up}_ERR_CORES when tinytx_parallel_num_cores() is not TINYTX_{up}_CORES.",
        " */",
        f"int tinytx_{m.name}_run(const int8_t *in, int8_t *out, uint8_t *arena);",
        "",
        "#ifdef __cplusplus",
        "}",
        "#endif",
        "",
        f"#endif /* TINYTX_MODEL_{up}_H */",
    ]
    source = [
        *comment,
        "#include <stddef.h>",
        "#include <stdint.h>",
        "",
        '#include "model.h"',
        '#include "tinytx/parallel.h"',
        '#include "tinytx/tinytx.h"',
        "",
        f"/* Weights and biases (section {WEIGHTS_SECTION}). */",
        *e.arrays,
        "/* Kernel dimensions and quantization parameters, one group per call. */",
        *e.structs,
        "",
        f"int tinytx_{m.name}_run(const int8_t *in, int8_t *out, uint8_t *arena)",
        "{",
        "\ttinytx_status st;",
        *(["\tint32_t i;"] if e.loops else []),
        "",
        "\tif (in == NULL || out == NULL || arena == NULL) {",
        "\t\treturn TINYTX_ERR_NULL;",
        "\t}",
        "\t/* the scratch sizes were planned for this many cores */",
        f"\tif (tinytx_parallel_num_cores() != TINYTX_{up}_CORES) {{",
        f"\t\treturn TINYTX_{up}_ERR_CORES;",
        "\t}",
        *e.body,
        "\treturn TINYTX_OK;",
        "}",
    ]
    return GeneratedModel(
        m.name, "\n".join(header) + "\n", "\n".join(source) + "\n", tuple(e.calls)
    )
