"""The C of a planned IR model (``<name>.c``/``<name>.h``, or model.c/model.h without a
name: :class:`ModelFiles`): const weights, the static schedule as straight-line kernel
calls into one arena at named offsets, and ``tinytx_<name>_run``. Every symbol and macro
is prefixed by the model's name (two models link into one application); placement uses
the portable macros of ``tinytx/compiler.h``.

Stable by construction: the output depends only on the model and the plan (no dates,
no absolute paths), so the same .onnx gives the same bytes. The kernel variant (ref,
arm, riscv) is chosen when the firmware is built; the generated code calls the public
kernel API only. The plan is for one kernel variant's scratch sizes on a number of cores
(``TINYTX_<NAME>_CORES``): the run function first checks that the firmware runs its kernels
on that many cores (``tinytx_parallel_num_cores()``, else ``TINYTX_<NAME>_ERR_CORES``, a
status of the model's own), and each scratch-using call gets its planned slice of the arena
as a ``tinytx_context`` (the kernel refuses a slice smaller than its ``*_get_buffer_size``
for the cores it runs on with ``TINYTX_ERR_SCRATCH``, before touching memory).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinytx import __version__
from tinytx.core import ir
from tinytx.core.codegen.carray import c_array_definition
from tinytx.core.golden import ChannelRequant, Requant
from tinytx.core.golden import gather_dims as golden_gather_dims
from tinytx.core.plan.planning import ModelPlan, mhsa_shape
from tinytx.core.plan.scratch import KernelScratch
from tinytx.core.plan.sparse import projection_names, split_layout

WEIGHTS_SECTION = ".rodata.tinytx_weights"  # TINYTX_WEIGHTS_SECTION (tinytx/compiler.h)
#: How each const array is placed (tinytx/compiler.h: portable across compilers).
WEIGHTS_PREFIX = "TINYTX_WEIGHTS_SECTION TINYTX_ALIGNED(4)"
ARENA_ALIGN = 4
LAYOUT_TOKEN_MAJOR = "TINYTX_LAYOUT_TOKEN_MAJOR"
#: The run function's status when the firmware runs another number of cores than planned
#: (a model status of its own, below every tinytx_status).
ERR_CORES = -16
#: The files of a model named after it (``--name``); without a name, these defaults.
DEFAULT_STEM = "model"


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
    weights: str = ""  # sparse storage of the layer's weights ("sparse block4: ..."), "" dense


@dataclass(frozen=True)
class ScratchSlot:
    """A kernel call's planned scratch: ``size`` bytes at ``arena + offset`` (the offset's
    constant is ``macro``), passed to the kernel as the ``tinytx_context`` named ``name``."""

    name: str
    offset: int
    size: int
    macro: str = ""

    def declaration(self) -> str:
        where = self.macro or str(self.offset)
        return (
            f"const tinytx_context {self.name} = {{.buf = arena + {where}, .size = {self.size}}};"
        )


def init(**fields: object) -> str:
    """A C99 designated initializer: ``{.a = 1, .b = {...}}``."""
    return "{" + ", ".join(f".{k} = {v}" for k, v in fields.items()) + "}"


@dataclass(frozen=True)
class ModelFiles:
    """The names of a conversion's C files: ``<stem>.c``/``.h`` and
    ``<test stem>.c``/``.h`` (without ``--name``: model.c/.h, test_data.c/.h)."""

    stem: str = DEFAULT_STEM

    @property
    def source(self) -> str:
        return f"{self.stem}.c"

    @property
    def header(self) -> str:
        return f"{self.stem}.h"

    @property
    def test_stem(self) -> str:
        return "test_data" if self.stem == DEFAULT_STEM else f"{self.stem}_test_data"

    @property
    def test_source(self) -> str:
        return f"{self.test_stem}.c"

    @property
    def test_header(self) -> str:
        return f"{self.test_stem}.h"


@dataclass(frozen=True)
class GeneratedModel:
    name: str
    header: str
    source: str
    calls: tuple[KernelCall, ...] = ()  # the run function's kernel calls, in order
    # what the run function calls before the first layer (its check of the cores)
    prologue: tuple[str, ...] = ("tinytx_parallel_num_cores",)
    files: ModelFiles = ModelFiles()

    def write(self, out_dir: Path) -> tuple[Path, Path]:
        out_dir.mkdir(parents=True, exist_ok=True)
        h, c = out_dir / self.files.header, out_dir / self.files.source
        h.write_text(self.header)
        c.write_text(self.source)
        return c, h


def _rq(rq: Requant | ChannelRequant) -> str:
    """A tinytx_requant initializer (per-channel: a valid unused factor, the zero point)."""
    if isinstance(rq, ChannelRequant):
        return init(multiplier=1 << 30, shift=31, zero_point=rq.zero_point)
    return init(multiplier=rq.multiplier, shift=rq.shift, zero_point=rq.zero_point)


def _act(lo: int, hi: int) -> str:
    return init(min=lo, max=hi)


def c_macro_part(text: str) -> str:
    """``text`` as part of a C macro name: upper case, ``_`` for anything else."""
    return re.sub(r"\W", "_", text).upper()


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
        self.offsets: dict[str, tuple[int, str]] = {}  # macro -> (arena offset, what)
        self.offset_names: dict[tuple[str, str], str] = {}  # (kind, name) -> macro

    # -- arena offsets, named
    def offset(self, kind: str, name: str, off: int) -> str:
        """The macro of an arena offset (``TINYTX_<MODEL>_OFF_<TENSOR>``; a scratch's
        ends in ``_SCRATCH``), unique in the model."""
        key = (kind, name)
        if key not in self.offset_names:
            base = f"TINYTX_{self.upper}_OFF_{c_macro_part(name)}"
            base += "_SCRATCH" if kind == "scratch" else ""
            macro, n = base, 2
            while macro in self.offsets:
                macro, n = f"{base}_{n}", n + 1
            what = f"scratch of {name}" if kind == "scratch" else f"tensor {name}"
            self.offsets[macro] = (off, what)
            self.offset_names[key] = macro
        return self.offset_names[key]

    # -- pointers
    def ptr(self, tensor: str, const: bool) -> str:
        where, off = self.plan.places[tensor]
        if where == "in":
            base = "in"
            return base if const else f"(int8_t *){base}"
        if where == "out":
            return "(const int8_t *)out" if const else "out"
        cast = "(const int8_t *)" if const else "(int8_t *)"
        return f"{cast}(arena + {self.offset('tensor', tensor, off)})"

    def array(self, op: ir.Op, field: str, data: np.ndarray | None) -> str:
        if data is None:
            return "NULL"
        return self.named_array(f"{op.name}_{field}", data)

    def named_array(self, name: str, data: np.ndarray) -> str:
        text = c_array_definition(
            name, np.ascontiguousarray(data), prefix=WEIGHTS_PREFIX, storage="static "
        )
        self.arrays.append(text)
        return name

    def sparse_weights(self, op: ir.Op, layer: str | None = None) -> str | None:
        """``&<layer>_w_sparse``, the ``tinytx_sparse_weights`` of ``layer`` (default: the
        op) and its three arrays (const, weights section, 4-byte aligned), when the plan
        stores its weights sparse; None: dense."""
        storage = self.plan.sparse
        layer = layer or op.name
        sw = storage.weights(layer) if storage is not None else None
        if sw is None:
            return None

        def nonempty(a: np.ndarray) -> np.ndarray:
            return a if a.size else np.zeros(1, a.dtype)  # C has no empty arrays

        fmt = "TINYTX_SPARSE_BLOCK4" if int(sw.format) == 4 else "TINYTX_SPARSE_UNSTRUCTURED"
        fields = init(
            format=fmt,
            rows=sw.rows,
            cols=sw.cols,
            row_ptr=self.named_array(f"{layer}_w_row_ptr", sw.row_ptr),
            gaps=self.named_array(f"{layer}_w_gaps", nonempty(sw.gaps)),
            values=self.named_array(f"{layer}_w_values", nonempty(sw.values)),
        )
        name = self.struct("tinytx_sparse_weights", f"{layer}_w_sparse", fields)
        return f"&{name}"

    def channels(self, op: ir.Op, rq: Requant | ChannelRequant, prefix: str = "") -> dict:
        """The ``multipliers``/``shifts`` fields of a params initializer (NULL:
        per-tensor)."""
        if not isinstance(rq, ChannelRequant):
            return {"multipliers": "NULL", "shifts": "NULL"}
        m, s = rq.arrays()
        return {
            "multipliers": self.array(op, prefix + "mult", m),
            "shifts": self.array(op, prefix + "shift", s),
        }

    def struct(self, ctype: str, name: str, init: str) -> str:
        self.structs.append(f"static const {ctype} {name} = {init};")
        return name

    def scratch(self, op: ir.Op) -> ScratchSlot | None:
        """The op's planned scratch (None: none planned)."""
        if op.name not in self.plan.scratch:
            return None
        off, size = self.plan.scratch[op.name]
        if size <= 0:
            return None
        return ScratchSlot(f"{op.name}_ctx", off, size, self.offset("scratch", op.name, off))

    def context(self, slot: ScratchSlot | None) -> str:
        """The kernel's scratch argument (NULL: none planned)."""
        return "NULL" if slot is None else f"&{slot.name}"

    def call(self, op: ir.Op, text: str, slot: ScratchSlot | None = None, times: int = 1) -> None:
        t_in = ", ".join(f"{n} {list(self.model.tensors[n].shape)}" for n in op.inputs)
        t_out = self.model.tensors[op.output]
        self.body.append(f"\t/* {op.name}: {comment_text(op.source)} */")
        self.body.append(f"\t/* {t_in} -> {op.output} {list(t_out.shape)} */")
        storage = self.plan.sparse.of(op.name) if self.plan.sparse is not None else None
        weights = ""
        if storage is not None and storage.sparse:
            weights = (
                f"sparse {storage.format} ({storage.chosen.bytes:,} of "
                f"{storage.dense_bytes:,} bytes)"
            )
            self.body.append(f"\t/* weights: {weights} */")
        if slot is not None:
            self.body.append(f"\t/* scratch: {slot.size} bytes, the C size for {self.cores} "
                             "cores */")  # fmt: skip
            self.body.append(f"\t{slot.declaration()}")
        for line in text.splitlines():
            self.body.append("\t" + line)
        kernel = _CALLED.findall(text)[0]
        times = self.images(op) if text.startswith("for (") else times
        macs = ir.op_macs(self.model, op)
        self.calls.append(KernelCall(op.name, kernel, macs, (kernel,) * times, weights))
        if not text.startswith("for ("):  # a loop checks each call itself
            self.body.append("\tif (st != TINYTX_OK) {")
            self.body.append("\t\treturn st;")
            self.body.append("\t}")

    def layernorm_steps(self, op: ir.LayerNormSteps, x: str, y: str) -> None:
        rows, e = self.model.tensors[op.inputs[0]].shape
        dims = self.struct("tinytx_layernorm_dims", f"{op.name}_dims", init(rows=rows, features=e))
        fields = {f.name: getattr(op.params, f.name) for f in dataclasses.fields(op.params)}
        par = self.struct(
            "tinytx_layernorm_steps_params",
            f"{op.name}_params",
            init(**{k: v if isinstance(v, int) else init(**dataclasses.asdict(v))
                    for k, v in fields.items()}),
        )  # fmt: skip
        g, b = self.array(op, "gamma", op.gamma), self.array(op, "beta", op.beta)
        table = self.array(op, "table", op.table)
        self.call(
            op, f"st = tinytx_layernorm_steps_s8(&{dims}, &{par}, {x}, {g}, {b}, {table}, {y});"
        )

    def attention_steps(self, op: ir.AttentionSteps, y: str) -> None:
        s, n = self.model.tensors[op.inputs[0]].shape
        dims = self.struct(
            "tinytx_attention_steps_dims",
            f"{op.name}_dims",
            init(seq_len=s, heads=op.heads, head_dim=n // op.heads),
        )
        fields = {f.name: getattr(op.params, f.name) for f in dataclasses.fields(op.params)}
        par = self.struct(
            "tinytx_attention_steps_params",
            f"{op.name}_params",
            init(**{k: v if isinstance(v, int) else init(**dataclasses.asdict(v))
                    for k, v in fields.items()}),
        )  # fmt: skip
        q, k, v = (self.ptr(name, True) for name in op.inputs)
        table = self.array(op, "exp", op.weight_arrays["exp"])
        self.call(
            op, f"st = tinytx_attention_steps_s8(&{dims}, &{par}, {q}, {k}, {v}, {table}, {y});"
        )

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
                init(rows=rows, in_features=k, out_features=n, heads=1, layout=LAYOUT_TOKEN_MAJOR),
            )
            par = self.struct(
                "tinytx_linear_params",
                f"{op.name}_params",
                init(
                    requant=_rq(op.rq),
                    act=_act(op.rq.act_min, op.rq.act_max),
                    **self.channels(op, op.rq),
                ),
            )
            sparse = self.sparse_weights(op)
            if sparse is not None:
                b, slot = self.array(op, "b", op.bias), self.scratch(op)
                ctx = self.context(slot)
                call = (
                    f"st = tinytx_linear_sparse_s8(&{dims}, &{par}, {x}, {sparse}, {b}, {y}, "
                    f"{ctx});"
                )
                self.call(op, call, slot)
                return
            w, b = self.array(op, "w", op.weight), self.array(op, "b", op.bias)
            slot = self.scratch(op)
            if slot is None:  # no scratch planned: the scratch-free kernel
                self.call(op, f"st = tinytx_linear_s8(&{dims}, &{par}, {x}, {w}, {b}, {y});")
            else:
                ctx = self.context(slot)
                call = f"st = tinytx_linear_buf_s8(&{dims}, &{par}, {x}, {w}, {b}, {y}, {ctx});"
                self.call(op, call, slot)
        elif isinstance(op, ir.Mhsa):
            split = self.plan.sparse.split_blocks if self.plan.sparse is not None else ()
            if op.name in split:
                self.mhsa_split(op, x, y)
            else:
                self.mhsa(op, x, y)
        elif isinstance(op, ir.LayerNorm):
            rows, e = t[op.inputs[0]].shape
            dims = self.struct(
                "tinytx_layernorm_dims", f"{op.name}_dims", init(rows=rows, features=e)
            )
            par = self.struct(
                "tinytx_layernorm_params",
                f"{op.name}_params",
                init(requant=_rq(op.rq), eps_q16=op.eps_q16),
            )
            g, b = self.array(op, "gamma", op.gamma), self.array(op, "beta", op.beta)
            self.call(op, f"st = tinytx_layernorm_s8(&{dims}, &{par}, {x}, {g}, {b}, {y});")
        elif isinstance(op, ir.LayerNormSteps):
            self.layernorm_steps(op, x, y)
        elif isinstance(op, ir.AttentionSteps):
            self.attention_steps(op, y)
        elif isinstance(op, ir.Gelu):
            p = op.params
            par = self.struct(
                "tinytx_gelu_params",
                f"{op.name}_params",
                init(
                    q_clip=p.q_clip,
                    q_one=p.q_one,
                    requant=_rq(p.rq),
                    input_zero_point=p.input_zero_point,
                ),
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
                init(
                    m_a=p.m_a,
                    m_b=p.m_b,
                    shift=p.shift,
                    act=_act(p.act_min, p.act_max),
                    offset=p.offset,
                    zero_point=p.zero_point,
                ),
            )
            self.binary(op, "tinytx_add_s8", par, x, y)
        elif isinstance(op, ir.Conv2d):
            self.conv(op)
        elif isinstance(op, (ir.MaxPool, ir.AvgPool)):
            self.pool(op)
        elif isinstance(op, ir.MeanRows):
            rows, e = t[op.inputs[0]].shape
            dims = self.struct(
                "tinytx_mean_rows_dims", f"{op.name}_dims", init(rows=rows, features=e)
            )
            par = self.struct(
                "tinytx_mean_rows_params",
                f"{op.name}_params",
                init(
                    requant=_rq(op.rq),
                    act=_act(op.rq.act_min, op.rq.act_max),
                    input_zero_point=op.input_zero_point,
                ),
            )
            self.call(op, f"st = tinytx_mean_rows_s8(&{dims}, &{par}, {x}, {y});")
        elif isinstance(op, (ir.Gather, ir.Concat)):
            self.gather(op)
        elif isinstance(op, ir.Mul):
            p = op.params
            par = self.struct(
                "tinytx_mul_params",
                f"{op.name}_params",
                init(
                    multiplier=p.multiplier,
                    shift=p.shift,
                    zero_point=p.zero_point,
                    act=_act(p.act_min, p.act_max),
                    a_zero_point=p.a_zero_point,
                    b_zero_point=p.b_zero_point,
                ),
            )
            self.binary(op, "tinytx_mul_s8", par, x, y)
        else:  # pragma: no cover
            raise TypeError(f"no code generation for {type(op).__name__}")

    def binary(self, op: ir.Add | ir.Mul, kernel: str, par: str, x: str, y: str) -> None:
        """An element-wise kernel of two operands; the second a tensor or a constant."""
        if op.b_const is not None:
            b = self.array(op, "b", op.b_const)
        else:
            b = self.ptr(op.inputs[1], True)
        size = self.model.tensors[op.output].size
        self.call(op, f"st = {kernel}({size}, &{par}, {x}, {b}, {y});")

    def gather(self, op: ir.Gather | ir.Concat) -> None:
        """A gather: one tinytx_gather_s8 call (a run of consecutive indices passes NULL
        and starts the input at the first); a concatenation: one call per input, each
        writing its columns of the output rows."""
        t = self.model.tensors
        out = t[op.output]
        outer, total, block = golden_gather_dims(out.shape, op.axis)
        y = self.ptr(op.output, False)
        lines: list[str] = []
        if isinstance(op, ir.Gather):
            parts = [(op.inputs[0], op.indices, 0)]
        else:
            parts, col = [], 0
            for part in op.parts(list(op.inputs)):
                if not isinstance(part, str):  # a constant part: its own array
                    const = next(i for i, (_, c) in enumerate(op.constants) if c is part)
                    part = ("const", self.array(op, f"c{const}", part), part.shape)
                shape = t[part].shape if isinstance(part, str) else part[2]
                n = shape[op.axis]
                parts.append((part, np.arange(n, dtype=np.int32), col))
                col += n
        for k, (name, idx, col) in enumerate(parts):
            if isinstance(name, str):
                shape, x = t[name].shape, self.ptr(name, True)
            else:
                shape, x = name[2], name[1]
            _, n, _ = golden_gather_dims(shape, op.axis)
            start = int(idx[0])
            if np.array_equal(idx, np.arange(start, start + idx.size)):
                ind, x = "NULL", x if start == 0 else f"{x} + {start * block}"
            else:
                ind = self.array(op, "idx", idx)
            dims = self.struct(
                "tinytx_gather_dims",
                f"{op.name}_dims{k}" if len(parts) > 1 else f"{op.name}_dims",
                init(outer=outer, axis_len=n, block=block, count=idx.size,
                     out_stride=total * block),
            )  # fmt: skip
            dst = y if col == 0 else f"{y} + {col * block}"
            if lines:
                lines += ["if (st != TINYTX_OK) {", "\treturn st;", "}"]
            lines.append(f"st = tinytx_gather_s8(&{dims}, {ind}, {x}, {dst});")
        self.call(op, "\n".join(lines), times=len(parts))

    def mhsa(self, op: ir.Mhsa, x: str, y: str) -> None:
        sh = mhsa_shape(self.model, op)
        dims = self.struct(
            "tinytx_mhsa_dims",
            f"{op.name}_dims",
            init(seq_len=sh.seq_len, embed_dim=sh.embed_dim, heads=sh.heads, head_dim=sh.head_dim),
        )
        slot = self.scratch(op)
        ctx = self.context(slot)
        tile = f"{op.tile}, " if op.variant == "dft" else ""
        kind = "fwsa" if op.fwsa is not None else "mhsa"
        func = f"tinytx_{kind}_dft_s8" if op.variant == "dft" else f"tinytx_{kind}_s8"
        if op.fwsa is not None:
            fw, fq = op.fwsa.weights, op.fwsa.quant
            fields = ("wt", "bt", "wv", "bv", "wo", "bo")
            names = {f: self.array(op, f, getattr(fw, f)) for f in fields}
            rqs = {f: _rq(getattr(fq, f)) for f in ("t", "v", "softmax", "av", "out")}
        else:
            fields = ("wq", "bq", "wk", "bk", "wv", "bv", "wo", "bo")
            names = {f: self.array(op, f, getattr(op.weights, f)) for f in fields}
            for f in ("q", "k", "v", "out"):
                names[f"{f}_ch"] = init(**self.channels(op, getattr(op.quant, f), f"{f}_"))
            rqs = {f: _rq(getattr(op.quant, f)) for f in ("q", "k", "v", "softmax", "av", "out")}
        wts = self.struct(f"tinytx_{kind}_weights", f"{op.name}_weights", init(**names))
        par = self.struct(f"tinytx_{kind}_params", f"{op.name}_params", init(**rqs))
        call = f"st = {func}(&{dims}, {tile}&{par}, &{wts}, {x}, {y}, {ctx});"
        self.call(op, call, slot)

    def mhsa_split(self, op: ir.Mhsa, x: str, y: str) -> None:
        """The block as the separate calls of the reference ``tinytx_mhsa_s8`` (bit-exact
        with it): Q, K (head-major), V^T projections, ``tinytx_qk_softmax_s8``,
        ``tinytx_av_s8`` into the head concat O, the output projection; a projection the
        plan stores sparse calls ``tinytx_linear_sparse_s8``. Q, K, V^T, the probabilities,
        O and the kernels' scratch live in the op's planned scratch
        (:func:`tinytx.core.plan.sparse.split_layout`)."""
        sh = mhsa_shape(self.model, op)
        s, e, h, p = sh.seq_len, sh.embed_dim, sh.heads, sh.head_dim
        slot = self.scratch(op)
        assert slot is not None and self.plan.sparse is not None
        names = projection_names(op.name)
        sparse = frozenset(names[k] for k in names if self.plan.sparse.weights(names[k]))
        kernels = KernelScratch(self.plan.kernels, self.plan.cores)
        lay = split_layout(op.name, s, e, h, p, kernels, sparse)
        base = self.offset("scratch", op.name, slot.offset)

        def at(part: str, ctype: str) -> str:
            return f"({ctype} *)(arena + {base} + {lay[part][0]})"

        full = _act(-128, 127)
        q = op.quant
        work = lay["work"][1]
        lines = [f"{{ /* {op.name}: split into layer-wise calls (sparse projections) */"]
        if work:
            lines.append(
                f"\tconst tinytx_context {op.name}_work = "
                f"{{.buf = arena + {base} + {lay['work'][0]}, .size = {work}}};"
            )
        ctx = f"&{op.name}_work" if work else "NULL"
        calls: list[str] = []
        projs = (
            ("q", "wq", "bq", q.q, "HEAD_MAJOR", x, at("q", "int8_t"), e, h * p, h),
            ("k", "wk", "bk", q.k, "HEAD_MAJOR", x, at("k", "int8_t"), e, h * p, h),
            ("v", "wv", "bv", q.v, "HEAD_MAJOR_T", x, at("vt", "int8_t"), e, h * p, h),
        )

        def projection(pr, wf, bf, rq, layout, src, dst, k, n, heads) -> None:
            layer = names[pr]
            dims = self.struct(
                "tinytx_linear_dims", f"{layer}_dims",
                init(rows=s, in_features=k, out_features=n, heads=heads,
                     layout=f"TINYTX_LAYOUT_{layout}"),
            )  # fmt: skip
            par = self.struct(
                "tinytx_linear_params", f"{layer}_params",
                init(requant=_rq(rq), act=full, **self.channels(op, rq, f"{pr}_")),
            )  # fmt: skip
            b = self.array(op, bf, getattr(op.weights, bf))
            sw = self.sparse_weights(op, layer)
            if sw is not None:
                fn = "tinytx_linear_sparse_s8"
                lines.append(f"\tst = {fn}(&{dims}, &{par}, {src}, {sw}, {b}, {dst}, {ctx});")
            else:
                fn = "tinytx_linear_s8"
                w = self.array(op, wf, getattr(op.weights, wf))
                lines.append(f"\tst = {fn}(&{dims}, &{par}, {src}, {w}, {b}, {dst});")
            calls.append(fn)
            lines.extend(["\tif (st != TINYTX_OK) {", "\t\treturn st;", "\t}"])

        for args in projs:
            projection(*args)
        ad = self.struct(
            "tinytx_attention_dims", f"{op.name}_attention_dims",
            init(heads=h, q_rows=s, kv_rows=s, head_dim=p, k_heads=h),
        )  # fmt: skip
        a = at("a", "uint8_t")
        qk = (f"\tst = tinytx_qk_softmax_s8(&{ad}, (tinytx_requant){_rq(q.softmax)}, "
              f"{at('q', 'const int8_t')}, {at('k', 'const int8_t')}, {a}, {ctx});")  # fmt: skip
        lines.append(qk if work else qk.replace(f", {ctx});", ", NULL);"))
        lines.extend(["\tif (st != TINYTX_OK) {", "\t\treturn st;", "\t}"])
        calls.append("tinytx_qk_softmax_s8")
        lines.append(
            f"\tst = tinytx_av_s8(&{ad}, (tinytx_requant){_rq(q.av)}, "
            f"(const uint8_t *)(arena + {base} + {lay['a'][0]}), "
            f"{at('vt', 'const int8_t')}, {at('o', 'int8_t')});"
        )
        lines.extend(["\tif (st != TINYTX_OK) {", "\t\treturn st;", "\t}"])
        calls.append("tinytx_av_s8")
        projection("o", "wo", "bo", q.out, "TOKEN_MAJOR", at("o", "const int8_t"), y, h * p, e, 1)
        lines.append("}")
        self.body.append(f"\t/* {op.name}: {comment_text(op.source)} */")
        self.body.append(f"\t/* scratch: {slot.size} bytes (Q, K, V^T, probabilities, O, "
                         "kernel scratch) */")  # fmt: skip
        self.body.extend("\t" + ln for ln in lines)
        macs = ir.op_macs(self.model, op)
        fn = f"split: {len(calls)} calls"
        weights = ", ".join(
            f"{k} sparse {self.plan.sparse.of(names[k]).format}"  # type: ignore[union-attr]
            for k in names
            if names[k] in sparse
        )
        self.calls.append(KernelCall(op.name, fn, macs, tuple(calls), weights))

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
        geo = {
            "in_h": ih, "in_w": iw, "in_c": ic, "out_h": oh, "out_w": ow, "out_c": oc,
            "kernel_h": kh, "kernel_w": kw, **_window(op.stride, op.pad),
        }  # fmt: skip
        mult = oc // ic if isinstance(op, ir.DepthwiseConv2d) else 1
        if op.dilation != (1, 1) or mult != 1:  # the appended fields, when not the default
            geo |= {"dilation_h": op.dilation[0], "dilation_w": op.dilation[1]}
            geo["depth_multiplier"] = mult
        dims = self.struct(
            "tinytx_conv2d_dims", f"{op.name}_dims", init(**{k: int(v) for k, v in geo.items()})
        )
        sparse = None if isinstance(op, ir.DepthwiseConv2d) else self.sparse_weights(op)
        w = sparse or self.array(op, "w", op.weight)
        b = self.array(op, "b", op.bias)
        par = self.struct(
            "tinytx_conv2d_params",
            f"{op.name}_params",
            init(
                requant=_rq(op.rq),
                act=_act(op.rq.act_min, op.rq.act_max),
                pad_value=op.pad_value,
                **self.channels(op, op.rq),
            ),
        )
        x, y = self.ptr(op.inputs[0], True), self.ptr(op.output, False)
        if isinstance(op, ir.DepthwiseConv2d):
            call = f"st = tinytx_depthwise_conv2d_s8(&{dims}, &{par}, {x}@IN, {w}, {b}, {y}@OUT);"
            self.call(op, self._per_image(op, call))
            return
        slot = self.scratch(op)
        ctx = self.context(slot)
        kernel = "tinytx_conv2d_s8" if sparse is None else "tinytx_conv2d_sparse_s8"
        call = f"st = {kernel}(&{dims}, &{par}, {x}@IN, {w}, {b}, {y}@OUT, {ctx});"
        self.call(op, self._per_image(op, call), slot)

    def pool(self, op: ir.MaxPool | ir.AvgPool) -> None:
        t = self.model.tensors
        _, ih, iw, c = t[op.inputs[0]].shape
        _, oh, ow, _ = t[op.output].shape
        geo = {
            "in_h": ih, "in_w": iw, "channels": c, "out_h": oh, "out_w": ow,
            "kernel_h": op.kernel[0], "kernel_w": op.kernel[1], **_window(op.stride, op.pad),
        }  # fmt: skip
        dims = self.struct(
            "tinytx_pool2d_dims", f"{op.name}_dims", init(**{k: int(v) for k, v in geo.items()})
        )
        x, y = self.ptr(op.inputs[0], True), self.ptr(op.output, False)
        if isinstance(op, ir.MaxPool):
            call = f"st = tinytx_maxpool2d_s8(&{dims}, {x}@IN, {y}@OUT);"
        else:
            fields = init(
                requant=_rq(op.rq),
                act=_act(op.rq.act_min, op.rq.act_max),
                count_include_pad=int(op.count_include_pad),
                input_zero_point=op.input_zero_point,
                **({"tflite_rounding": 1} if op.tflite_rounding else {}),
            )
            par = self.struct("tinytx_avgpool2d_params", f"{op.name}_params", fields)
            call = f"st = tinytx_avgpool2d_s8(&{dims}, &{par}, {x}@IN, {y}@OUT);"
        self.call(op, self._per_image(op, call))


def _window(stride: tuple[int, int], pad: tuple[int, int, int, int]) -> dict[str, int]:
    """The stride and pad fields of a conv2d/pool2d dims initializer (pad: top, left,
    bottom, right)."""
    return {
        "stride_h": stride[0], "stride_w": stride[1], "pad_top": pad[0], "pad_left": pad[1],
        "pad_bottom": pad[2], "pad_right": pad[3],
    }  # fmt: skip


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
        f" weights {plan.weight_bytes} bytes"
        + (
            f" ({plan.sparse.saved_bytes} saved by sparse storage)"
            if plan.sparse is not None and plan.sparse.saved_bytes
            else ""
        ),
        "",
        "plan:",
        *(f"  {ln}" for ln in plan.describe()),
    ]
    return lines


#: Axis letters of the firmware's tensors by rank: images channels last (NHWC),
#: token-major rows of features ([S][E]).
LAYOUTS = {4: "NHWC", 3: "NSE", 2: "SE", 1: "E"}
LAYOUT_TEXT = {
    "NHWC": "images, channels last: [N][H][W][C]",
    "NSE": "token-major: [N][S tokens][E features]",
    "SE": "token-major: [S rows][E features]",
    "E": "[E features]",
}


def shape_macros(prefix: str, tensor: ir.Tensor, spec: ir.IOSpec, what: str) -> list[str]:
    """``<prefix>_SIZE``, ``_RANK``, ``_DIM<i>`` (outermost first), ``_LAYOUT`` and one
    macro per axis letter (``_H``, ``_W``, ``_C``; ``_S``, ``_E``) of an input/output."""
    shape = [int(d) for d in tensor.shape]
    layout = LAYOUTS.get(len(shape), "")
    lines = [
        f"/* {what}: {LAYOUT_TEXT.get(layout, f'{len(shape)} axes')};",
        f" * the bytes are ONNX '{comment_text(spec.onnx_name)}' {list(spec.onnx_shape)} "
        f"with its axes in the order {list(spec.perm)} */",
        f"#define {prefix}_SIZE {tensor.size}",
        f"#define {prefix}_RANK {len(shape)}",
        *(f"#define {prefix}_DIM{i} {d}" for i, d in enumerate(shape)),
        f'#define {prefix}_LAYOUT "{layout or "D" * len(shape)}"',
        *(f"#define {prefix}_{a} {d}" for a, d in zip(layout, shape, strict=False)),
    ]
    return lines


def generate(
    plan: ModelPlan, source_name: str = "model.onnx", files: ModelFiles | None = None
) -> GeneratedModel:
    """The model's header and source (as text) for a planned model; ``files`` names them
    (the source includes the header by its name)."""
    files = files or ModelFiles()
    e = _Emitter(plan, source_name)
    for op in plan.model.ops:
        e.emit(op)
    m = plan.model
    up = e.upper
    pre = f"TINYTX_{up}"
    comment = ["/*", *_comment_lines(header_comment(plan, source_name)), " */"]
    t_in, t_out = m.tensors[m.input], m.tensors[m.output]
    guard = f"TINYTX_MODEL_{up}_H"
    run = f"tinytx_status tinytx_{m.name}_run(const int8_t *in, int8_t *out, uint8_t *arena)"
    header = [
        *comment,
        f"#ifndef {guard}",
        f"#define {guard}",
        "",
        "#include <stdint.h>",
        "",
        '#include "tinytx/compiler.h"',
        '#include "tinytx/types.h"',
        "",
        "#ifdef __cplusplus",
        'extern "C" {',
        "#endif",
        "",
        "/* the activation arena: this many bytes, aligned to TINYTX_<NAME>_ARENA_ALIGN */",
        f"#define {pre}_ARENA_SIZE {plan.arena_bytes}",
        f"#define {pre}_ARENA_ALIGN {ARENA_ALIGN}",
        f"/* defines a static arena for the model: {pre}_ARENA(my_arena); */",
        f"#define {pre}_ARENA(var) TINYTX_ALIGNED({pre}_ARENA_ALIGN) static uint8_t "
        f"var[{pre}_ARENA_SIZE > 0 ? {pre}_ARENA_SIZE : 1]",
        "/* the cores the plan is for: the firmware's tinytx_parallel_num_cores() */",
        f"#define {pre}_CORES {plan.cores}",
        "/* run's own status (below every tinytx_status): the firmware runs its kernels on",
        f" * another number of cores than {pre}_CORES */",
        f"#define {pre}_ERR_CORES ((tinytx_status)({ERR_CORES}))",
        "",
        *shape_macros(f"{pre}_INPUT", t_in, m.input_spec, "input"),
        *shape_macros(f"{pre}_OUTPUT", t_out, m.output_spec, "output"),
        "/* real value = scale * (code - zero point) */",
        f"#define {pre}_INPUT_SCALE {_float(t_in.scale)}",
        f"#define {pre}_OUTPUT_SCALE {_float(t_out.scale)}",
        f"#define {pre}_INPUT_ZERO_POINT {t_in.zero_point}",
        f"#define {pre}_OUTPUT_ZERO_POINT {t_out.zero_point}",
        f"#define {pre}_MACS {m.macs}",
        f"#define {pre}_WEIGHT_BYTES {plan.weight_bytes}",
        f'#define {pre}_SHA256 "{m.source_sha256}"',
        "",
        "/*",
        f" * Runs the model: in holds {pre}_INPUT_SIZE int8 values (in {pre}_INPUT_LAYOUT",
        f" * order), out receives {pre}_OUTPUT_SIZE; arena is {pre}_ARENA_SIZE bytes",
        f" * aligned to {pre}_ARENA_ALIGN and must not overlap in or out. Returns TINYTX_OK,",
        " * a negative tinytx_status of a kernel (TINYTX_ERR_NULL: a NULL pointer), or",
        f" * {pre}_ERR_CORES when tinytx_parallel_num_cores() is not {pre}_CORES.",
        " */",
        f"{run};",
        "",
        "#ifdef __cplusplus",
        "}",
        "#endif",
        "",
        f"#endif /* {guard} */",
    ]
    offsets = [
        f"#define {macro} {off} /* {comment_text(what)} */"
        for macro, (off, what) in e.offsets.items()
    ]
    source = [
        *comment,
        "#include <stddef.h>",
        "#include <stdint.h>",
        "",
        f'#include "{files.header}"',
        '#include "tinytx/compiler.h"',
        '#include "tinytx/parallel.h"',
        '#include "tinytx/tinytx.h"',
        "",
        "/* Arena offsets (bytes) of the activations and kernel scratch, from the plan. */",
        *offsets,
        "",
        "/* Weights and biases (TINYTX_WEIGHTS_SECTION, tinytx/compiler.h). */",
        *e.arrays,
        "/* Kernel dimensions and quantization parameters, one group per call. */",
        *e.structs,
        "",
        run,
        "{",
        "\ttinytx_status st;",
        *(["\tint32_t i;"] if e.loops else []),
        "",
        "\tif (in == NULL || out == NULL || arena == NULL) {",
        "\t\treturn TINYTX_ERR_NULL;",
        "\t}",
        "\t/* the scratch sizes were planned for this many cores */",
        f"\tif (tinytx_parallel_num_cores() != {pre}_CORES) {{",
        f"\t\treturn {pre}_ERR_CORES;",
        "\t}",
        *e.body,
        "\treturn TINYTX_OK;",
        "}",
    ]
    return GeneratedModel(
        m.name, "\n".join(header) + "\n", "\n".join(source) + "\n", tuple(e.calls), files=files
    )
