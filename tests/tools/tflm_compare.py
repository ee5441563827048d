"""Whole models: TensorFlow Lite Micro + CMSIS-NN next to tinytx, on the emulated Cortex-M4.

For each int8 .tflite model this tool

1. builds one bare-metal firmware that runs the model with TFLM and its CMSIS-NN kernels
   (arm-none-eabi-g++ 12, ``-mcpu=cortex-m4 -mthumb -mfloat-abi=soft -O2``, picolibc with
   semihosting, as tinytx's own emulated firmware), with a ``MicroMutableOpResolver``
   holding exactly the operators of the model (so flash holds only their kernels; TFLM
   has no GELU kernel, so a model with the builtin GELU gets this tool's table GELU);
2. loads it into unicorn (tinytx.toolchain.emu.unicorn_arm.ArmFunctionRunner, the runner
   behind every exact instruction count of tinytx), calls ``tflm_setup`` (interpreter,
   ``AllocateTensors()``, the fixture's first input copied in), then counts the executed
   instructions of one ``tflm_invoke`` (one ``MicroInterpreter::Invoke()``), reads
   ``arena_used_bytes()`` and the output;
3. runs ``tinytx run <model.tflite> --board nucleo_l476rg_emu`` on the same first input and
   reads its exact instruction count, planned arena and flash from its report;
4. prints one table (and, with --json, writes the figures). A model TFLM rejects
   (``AllocateTensors()`` fails) is a row without TFLM figures and a line saying which
   TFLM limit it breaks, when it is a known one.

Flash is GNU ``size``'s text + data of each whole firmware (code, constants, the model /
weights, libc), as ``tinytx report`` counts it. The TFLM arena is ``arena_used_bytes()``
after ``AllocateTensors()`` (tensors, scratch buffers and TFLM's runtime structures); the
tinytx arena is the planned arena (activations and kernel scratch; the model input and
output are the caller's).

Sources (nothing is downloaded): a tflite-micro checkout and the third-party trees where
TFLM's own download scripts put them, ``tensorflow/lite/micro/tools/make/downloads/``:
``cmsis_nn`` (ext_libs/cmsis_nn_download.sh), ``cmsis`` (ext_libs/cmsis_download.sh),
``flatbuffers`` (flatbuffers_download.sh, with TFLM's flatbuffers.patch applied),
``gemmlowp`` and ``ruy`` (third_party_downloads.inc). Each can be given elsewhere with
its own option. The library is TFLM's Makefile source list for
``OPTIMIZED_KERNEL_DIR=cmsis_nn`` (tools/make/sources.inc; kernels of
kernels/cmsis_nn/ replace the reference files of the same name; all of CMSIS-NN's int
Source/), compiled once into an archive under the build directory.

Needs arm-none-eabi-gcc/g++, picolibc-arm-none-eabi and, for C++,
libstdc++-arm-none-eabi-picolibc (Debian packages). Not part of the tests; no network.

    .venv/bin/python tests/tools/tflm_compare.py --tflm /path/to/tflite-micro
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import tflite
from elftools.elf.elffile import ELFFile

from tinytx.toolchain.emu.unicorn_arm import ArmFunctionRunner

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "data" / "tflite"
DEFAULT_MODELS = ("radar", "eeg", "ecg", "encoder_block")
BOARD = "nucleo_l476rg_emu"

CPU_FLAGS = ("-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=soft")
# TFLM's Makefile (COMMON_FLAGS, CXXFLAGS, the cmsis_nn and cortex_m_generic defines) with
# BUILD_TYPE=release (no error strings) and -O2 for everything (TFLM's default is -Os for
# the framework, -O2 for kernels)
COMMON_FLAGS = (
    *CPU_FLAGS,
    "-O2",
    "--specs=picolibcpp.specs",
    "-fno-unwind-tables",
    "-fno-asynchronous-unwind-tables",
    "-ffunction-sections",
    "-fdata-sections",
    "-fsigned-char",
    "-fomit-frame-pointer",
    "-DTF_LITE_STATIC_MEMORY",
    "-DTF_LITE_DISABLE_X86_NEON",
    "-DTF_LITE_MCU_DEBUG_LOG",
    "-DCMSIS_NN",
    "-DKERNELS_OPTIMIZED_FOR_SPEED",
    "-DARM_NN_ENABLE_F16=0",
    "-DARM_NN_ENABLE_F32=0",
    "-DNDEBUG",
    "-DTF_LITE_STRIP_ERROR_STRINGS",
    "-DARMCM4",
)
CXX_FLAGS = ("-std=c++17", "-fno-rtti", "-fno-exceptions", "-fno-threadsafe-statics")
C_FLAGS = ("-std=c17",)
# picolibc's linker script symbols: flash at 0 (QEMU mps2-an386), 4 MiB of RAM so any arena
# links; the figures are read, not the board's limits
LINK_FLAGS = (
    "--oslib=semihost",
    "--crt0=semihost",
    "-Wl,--gc-sections",
    "-Wl,--defsym=__flash=0x0,--defsym=__flash_size=0x400000",
    "-Wl,--defsym=__ram=0x20000000,--defsym=__ram_size=0x400000",
)
ARENA_BYTES = 1 << 20  # the arena array given to TFLM; arena_used_bytes() is what is reported
MAX_INSTRUCTIONS = 2_000_000_000


@dataclass(frozen=True)
class Sources:
    tflm: Path
    cmsis_nn: Path
    cmsis: Path
    flatbuffers: Path
    gemmlowp: Path
    ruy: Path

    def includes(self) -> list[str]:
        return [
            f"-I{self.tflm}",
            f"-I{self.gemmlowp}",
            f"-I{self.flatbuffers / 'include'}",
            f"-I{self.ruy}",
            f"-I{self.cmsis}",
            f"-I{self.cmsis / 'CMSIS' / 'Core' / 'Include'}",
            f"-I{self.cmsis_nn}",
            f"-I{self.cmsis_nn / 'Include'}",
        ]


@dataclass(frozen=True)
class TflmResult:
    instructions: int
    arena_used: int
    flash: int
    model_bytes: int
    output: list[int]


@dataclass(frozen=True)
class TinytxResult:
    instructions: int
    arena: int
    flash: int
    weights: int
    output: list[int] | None


@dataclass(frozen=True)
class Row:
    model: str
    operators: list[str]
    tflm: TflmResult | None
    tflm_error: str | None
    """why TFLM could not run the model (tflm is None then)"""
    tflm_by_op: dict[str, int] | None
    """with --by-op: TFLM's instructions by operator kind (each node's invoke, counted)"""
    tinytx: TinytxResult
    tflm_vs_interpreter: int | None
    """max |TFLM - TFLite interpreter| over the output (interpreter.npz, reference kernels)"""
    tflm_vs_tinytx: int | None
    """max |TFLM - tinytx| over the output, when tinytx prints all of it"""


class ToolError(Exception):
    """One line for the user."""


# ---------------------------------------------------------------- sources


def git_commit(path: Path) -> str:
    """The commit of a git checkout at `path`, or '' when it is not one."""
    try:
        out = subprocess.run(
            ["git", "-C", str(path), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return ""
    top = subprocess.run(
        ["git", "-C", str(path), "rev-parse", "--show-toplevel"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return out.stdout.strip() if Path(top).resolve() == path.resolve() else ""


def _makefile_list(sources_inc: str, variable: str) -> list[str]:
    m = re.search(rf"^{variable}\s*:=\s*\\\n((?:.*\\\n)*.*)$", sources_inc, re.MULTILINE)
    if m is None:
        raise ToolError(f"sources.inc: no {variable} list")
    return re.findall(r"\$\(TENSORFLOW_ROOT\)(\S+\.(?:cc|c))", m.group(1))


def library_sources(src: Sources) -> list[Path]:
    """TFLM's Makefile library (OPTIMIZED_KERNEL_DIR=cmsis_nn, TARGET=cortex_m_generic)."""
    root = src.tflm
    micro = root / "tensorflow" / "lite" / "micro"
    sources_inc = (micro / "tools" / "make" / "sources.inc").read_text()
    # MICROLITE_CC_BASE_SRCS minus the tests and benchmarks
    base: list[Path] = []
    for sub in ("", "arena_allocator", "memory_planner", "tflite_bridge"):
        base += sorted((micro / sub).glob("*.cc"))
    for path in sorted((root / "tensorflow").rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.suffix not in (".cc", ".c") or rel.startswith(
            ("tensorflow/lite/micro/", "tensorflow/lite/experimental/")
        ):
            continue
        if rel != "tensorflow/lite/array.cc":  # excluded with TF_LITE_STATIC_MEMORY
            base.append(path)
    base = [p for p in base if not p.name.endswith(("_test.cc", "benchmark.cc"))]
    # specialized for the target (debug_log.cc, micro_time.cc)
    target_dir = micro / "cortex_m_generic"
    base = [target_dir / p.name if (target_dir / p.name).is_file() else p for p in base]
    # the kernels, the cmsis_nn files replacing the reference ones of the same name
    kernels = [root / k for k in _makefile_list(sources_inc, "MICROLITE_CC_KERNEL_SRCS")]
    opt_dir = micro / "kernels" / "cmsis_nn"
    kernels = [opt_dir / p.name if (opt_dir / p.name).is_file() else p for p in kernels]
    # CMSIS-NN (ext_libs/cmsis_nn.inc): every C file of Source/ but the float ones
    cmsis_nn = [
        p
        for p in sorted((src.cmsis_nn / "Source").rglob("*.c"))
        if not p.name.endswith(("_f16.c", "_f32.c")) and p.name != "arm_nntables_flt.c"
    ]
    return base + kernels + cmsis_nn


def _run(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-12:]
        raise ToolError(f"{what} failed:\n  " + "\n  ".join(tail))


def _flags_hash(src: Sources) -> str:
    key = json.dumps([COMMON_FLAGS, CXX_FLAGS, C_FLAGS, src.includes()])
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def build_library(src: Sources, build: Path, jobs: int) -> Path:
    """Compile the TFLM + CMSIS-NN sources into build/libtflm.a (objects are reused)."""
    lib = build / "libtflm.a"
    objdir = build / "obj" / _flags_hash(src)
    files = library_sources(src)
    jobs_list: list[tuple[list[str], Path, Path]] = []
    objects: list[Path] = []
    for i, path in enumerate(files):
        obj = objdir / f"{i:04d}_{path.stem}.o"
        objects.append(obj)
        if obj.is_file() and obj.stat().st_mtime >= path.stat().st_mtime:
            continue
        if path.suffix == ".cc":
            cmd = ["arm-none-eabi-g++", *COMMON_FLAGS, *CXX_FLAGS]
        else:
            cmd = ["arm-none-eabi-gcc", *COMMON_FLAGS, *C_FLAGS]
        jobs_list.append(([*cmd, *src.includes(), "-c", str(path), "-o", str(obj)], path, obj))
    objdir.mkdir(parents=True, exist_ok=True)
    if jobs_list:
        print(f"compiling {len(jobs_list)} of {len(files)} TFLM/CMSIS-NN sources ...", flush=True)
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(_run, cmd, f"compiling {p}") for cmd, p, _ in jobs_list]
            for f in futures:
                f.result()
    if (
        not lib.is_file()
        or jobs_list
        or lib.stat().st_mtime < max(o.stat().st_mtime for o in objects)
    ):
        lib.unlink(missing_ok=True)
        with tempfile.NamedTemporaryFile("w", suffix=".rsp", delete=False) as rsp:
            rsp.write("\n".join(str(o) for o in objects))
        _run(["arm-none-eabi-ar", "rcs", str(lib), f"@{rsp.name}"], "arm-none-eabi-ar")
        Path(rsp.name).unlink()
    return lib


# ------------------------------------------------------------ the firmware


def model_operators(data: bytes) -> list[str]:
    """Builtin operator names of a .tflite model, in the model's operator-code order."""
    model = tflite.Model.GetRootAsModel(data, 0)
    names = {v: k for k, v in vars(tflite.BuiltinOperator).items() if isinstance(v, int)}
    ops = []
    for i in range(model.OperatorCodesLength()):
        c = model.OperatorCodes(i)
        code = max(int(c.BuiltinCode()), int(c.DeprecatedBuiltinCode()))
        ops.append(names.get(code, f"BUILTIN_{code}"))
    return ops


def model_input_shape(data: bytes) -> tuple[int, ...]:
    """Shape of the first input tensor of a .tflite model."""
    sg = tflite.Model.GetRootAsModel(data, 0).Subgraphs(0)
    return tuple(int(d) for d in sg.Tensors(sg.Inputs(0)).ShapeAsNumpy())


def resolver_methods(src: Sources) -> dict[str, str]:
    """BuiltinOperator name -> MicroMutableOpResolver method, read from TFLM's header."""
    header = (src.tflm / "tensorflow/lite/micro/micro_mutable_op_resolver.h").read_text()
    methods: dict[str, str] = {}
    for m in re.finditer(
        r"TfLiteStatus (Add\w+)\([^{]*\{[^}]*?AddBuiltin\(\s*BuiltinOperator_(\w+)", header
    ):
        methods.setdefault(m.group(2), m.group(1))
    return methods


def _c_bytes(data: bytes) -> str:
    lines = []
    for i in range(0, len(data), 24):
        lines.append("  " + ",".join(str(b) for b in data[i : i + 24]) + ",")
    return "\n".join(lines)


# TFLM has no GELU kernel: models with the builtin GELU get this one, written for this tool
# the way TFLite's own int8 GELU works (a 256-entry table computed in Prepare from the
# quantization parameters, one lookup per element in Invoke).
GELU_KERNEL = """\
#include <cmath>

#include "tensorflow/lite/micro/kernels/kernel_util.h"
#include "tensorflow/lite/micro/micro_context.h"

namespace {{
struct GeluParams {{
  bool approximate;
}};

TfLiteStatus ParseGelu(const tflite::Operator* op, tflite::ErrorReporter*,
                       tflite::BuiltinDataAllocator* allocator, void** builtin_data) {{
  GeluParams* params = allocator->AllocatePOD<GeluParams>();
  const tflite::GeluOptions* options = op->builtin_options_as_GeluOptions();
  params->approximate = options != nullptr && options->approximate();
  *builtin_data = params;
  return kTfLiteOk;
}}

void* GeluInit(TfLiteContext* context, const char*, size_t) {{
  return context->AllocatePersistentBuffer(context, 256);
}}

TfLiteStatus GeluPrepare(TfLiteContext* context, TfLiteNode* node) {{
  tflite::MicroContext* micro_context = tflite::GetMicroContext(context);
  TfLiteTensor* in = micro_context->AllocateTempInputTensor(node, 0);
  TfLiteTensor* out = micro_context->AllocateTempOutputTensor(node, 0);
  if (in == nullptr || out == nullptr || in->type != kTfLiteInt8 ||
      out->type != kTfLiteInt8 || node->user_data == nullptr) {{
    return kTfLiteError;
  }}
  const bool approximate = static_cast<const GeluParams*>(node->builtin_data)->approximate;
  int8_t* table = static_cast<int8_t*>(node->user_data);
  for (int q = -128; q < 128; ++q) {{
    const float x = static_cast<float>(q - in->params.zero_point) * in->params.scale;
    const float y =
        approximate
            ? 0.5f * x * (1.0f + tanhf(0.7978845608f * (x + 0.044715f * x * x * x)))
            : 0.5f * x * (1.0f + erff(x * 0.7071067812f));
    long v = lroundf(y / out->params.scale) + out->params.zero_point;
    v = v < -128 ? -128 : (v > 127 ? 127 : v);
    table[q + 128] = static_cast<int8_t>(v);
  }}
  micro_context->DeallocateTempTfLiteTensor(in);
  micro_context->DeallocateTempTfLiteTensor(out);
  return kTfLiteOk;
}}

TfLiteStatus GeluEval(TfLiteContext* context, TfLiteNode* node) {{
  const TfLiteEvalTensor* in = tflite::micro::GetEvalInput(context, node, 0);
  TfLiteEvalTensor* out = tflite::micro::GetEvalOutput(context, node, 0);
  const int8_t* table = static_cast<const int8_t*>(node->user_data);
  const int8_t* x = tflite::micro::GetTensorData<int8_t>(in);
  int8_t* y = tflite::micro::GetTensorData<int8_t>(out);
  const int n = tflite::micro::GetTensorShape(in).FlatSize();
  for (int i = 0; i < n; ++i) y[i] = table[x[i] + 128];
  return kTfLiteOk;
}}
}}  // namespace
"""

HARNESS = """\
// Generated by tests/tools/tflm_compare.py: one TFLM interpreter, called from unicorn.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>

#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/schema/schema_generated.h"
{gelu_kernel}
namespace {{
alignas(16) const unsigned char g_model[] = {{
{model}
}};
constexpr size_t kArenaSize = {arena};
alignas(16) uint8_t g_arena[kArenaSize];

// TFLM's MicroMutableOpResolver with the model's operators, plus the operators TFLM lacks
#ifdef TFLM_COMPARE_BY_OP
// By-operator split (a separate firmware): every kernel's invoke goes through a trampoline
// that records (context, node, kind) during one Invoke(); the host then calls each node's
// own invoke once, in order, and counts each call.
constexpr int kMaxKinds = {max_kinds};
constexpr int kMaxNodes = 2048;
using InvokeFn = TfLiteStatus (*)(TfLiteContext*, TfLiteNode*);
InvokeFn g_orig[kMaxKinds];
const TFLMRegistration* g_source[kMaxKinds];
TFLMRegistration g_wrapped[kMaxKinds];
int g_nkinds = 0;
TfLiteContext* g_context = nullptr;
TfLiteNode* g_nodes[kMaxNodes];
int g_node_kind[kMaxNodes];
int g_nnodes = 0;

template <int K>
TfLiteStatus Trampoline(TfLiteContext* context, TfLiteNode* node) {{
  if (g_nnodes < kMaxNodes) {{
    g_context = context;
    g_nodes[g_nnodes] = node;
    g_node_kind[g_nnodes++] = K;
  }}
  return g_orig[K](context, node);
}}

const InvokeFn kTrampolines[kMaxKinds] = {{{trampolines}}};

const TFLMRegistration* Wrap(const TFLMRegistration* r) {{
  if (r == nullptr) return nullptr;
  for (int k = 0; k < g_nkinds; ++k) {{
    if (g_source[k] == r) return &g_wrapped[k];
  }}
  if (g_nkinds == kMaxKinds) return nullptr;
  const int k = g_nkinds++;
  g_source[k] = r;
  g_wrapped[k] = *r;
  g_orig[k] = r->invoke;
  g_wrapped[k].invoke = kTrampolines[k];
  return &g_wrapped[k];
}}
#else
const TFLMRegistration* Wrap(const TFLMRegistration* r) {{ return r; }}
#endif

class Resolver : public tflite::MicroOpResolver {{
 public:
  tflite::MicroMutableOpResolver<{nops}> builtins;
  TFLMRegistration gelu = {{}};
  bool has_gelu = false;

  const TFLMRegistration* FindOp(tflite::BuiltinOperator op) const override {{
    if (op == tflite::BuiltinOperator_GELU) return has_gelu ? Wrap(&gelu) : nullptr;
    return Wrap(builtins.FindOp(op));
  }}
  const TFLMRegistration* FindOp(const char* op) const override {{
    return builtins.FindOp(op);
  }}
  tflite::TfLiteBridgeBuiltinParseFunction GetOpDataParser(
      tflite::BuiltinOperator op) const override {{
    if (op == tflite::BuiltinOperator_GELU) return {gelu_parser};
    return builtins.GetOpDataParser(op);
  }}
}};

alignas(Resolver) uint8_t g_resolver_mem[sizeof(Resolver)];
alignas(tflite::MicroInterpreter) uint8_t g_interpreter_mem[sizeof(tflite::MicroInterpreter)];
tflite::MicroInterpreter* g_interpreter = nullptr;
}}  // namespace

extern "C" {{
// written by the host before tflm_setup
int8_t tflm_input[{input_bytes}];

__attribute__((noinline)) int tflm_setup(void) {{
  const tflite::Model* model = tflite::GetModel(g_model);
  Resolver* resolver = new (g_resolver_mem) Resolver();
{adds}
  g_interpreter = new (g_interpreter_mem)
      tflite::MicroInterpreter(model, *resolver, g_arena, kArenaSize);
  if (g_interpreter->AllocateTensors() != kTfLiteOk) return 2;
  TfLiteTensor* in = g_interpreter->input(0);
  if (in->bytes != sizeof(tflm_input)) return 3;
  std::memcpy(in->data.int8, tflm_input, sizeof(tflm_input));
  return 0;
}}

__attribute__((noinline)) int tflm_invoke(void) {{
  return g_interpreter->Invoke() == kTfLiteOk ? 0 : 1;
}}

__attribute__((noinline)) int tflm_arena_used(void) {{
  return static_cast<int>(g_interpreter->arena_used_bytes());
}}

__attribute__((noinline)) int tflm_output(void) {{
  return static_cast<int>(reinterpret_cast<uintptr_t>(g_interpreter->output(0)->data.int8));
}}

__attribute__((noinline)) int tflm_output_bytes(void) {{
  return static_cast<int>(g_interpreter->output(0)->bytes);
}}
#ifdef TFLM_COMPARE_BY_OP
// one recorded Invoke(); the input is copied in again so that the replay starts as it did
__attribute__((noinline)) int tflm_record(void) {{
  g_nnodes = 0;
  if (g_interpreter->Invoke() != kTfLiteOk) return -1;
  std::memcpy(g_interpreter->input(0)->data.int8, tflm_input, sizeof(tflm_input));
  return g_nnodes;
}}

__attribute__((noinline)) int tflm_invoke_node(int i) {{
  return g_orig[g_node_kind[i]](g_context, g_nodes[i]) == kTfLiteOk ? 0 : 1;
}}

__attribute__((noinline)) int tflm_node_op(int i) {{
  return static_cast<int>(g_wrapped[g_node_kind[i]].builtin_code);
}}
#endif
}}

int main(void) {{
  int status = tflm_setup();
  return status != 0 ? status : tflm_invoke();
}}
"""

#: the functions the host calls (kept by the linker's --gc-sections)
ENTRY_POINTS = (
    "tflm_input",
    "tflm_setup",
    "tflm_invoke",
    "tflm_arena_used",
    "tflm_output",
    "tflm_output_bytes",
)

#: the by-operator firmware (see measure_by_op)
BY_OP_FLAGS = ("-DTFLM_COMPARE_BY_OP",)
BY_OP_ENTRY_POINTS = ("tflm_record", "tflm_invoke_node", "tflm_node_op")

#: operator kinds the by-operator firmware can tell apart
MAX_KINDS = 48

#: operators TFLM has no kernel for, which this tool provides (see GELU_KERNEL)
OWN_KERNELS = ("GELU",)


def build_firmware(
    src: Sources, lib: Path, name: str, model: bytes, input_bytes: int, out: Path
) -> tuple[Path, list[str]]:
    ops = sorted(set(model_operators(model)))
    methods = resolver_methods(src)
    missing = [op for op in ops if op not in methods and op not in OWN_KERNELS]
    if missing:
        raise ToolError(f"{name}: TFLM's MicroMutableOpResolver has no {', '.join(missing)}")
    builtins = [op for op in ops if op in methods]
    lines = [
        f"  if (resolver->builtins.{methods[op]}() != kTfLiteOk) return {10 + i};"
        for i, op in enumerate(builtins)
    ]
    own_gelu = "GELU" in ops and "GELU" not in methods
    if own_gelu:
        lines.append(
            "  resolver->gelu = tflite::micro::RegisterOp(GeluInit, GeluPrepare, GeluEval);"
        )
        lines.append("  resolver->gelu.builtin_code = tflite::BuiltinOperator_GELU;")
        lines.append("  resolver->has_gelu = true;")
    out.mkdir(parents=True, exist_ok=True)
    cc = out / f"{name}_tflm.cc"
    cc.write_text(
        HARNESS.format(
            gelu_kernel=GELU_KERNEL.format() if own_gelu else "",
            gelu_parser="ParseGelu" if own_gelu else "nullptr",
            max_kinds=MAX_KINDS,
            trampolines=", ".join(f"Trampoline<{k}>" for k in range(MAX_KINDS)),
            model=_c_bytes(model),
            arena=ARENA_BYTES,
            nops=max(1, len(builtins)),
            input_bytes=input_bytes,
            adds="\n".join(lines),
        )
    )
    elf = _link(src, lib, cc, out / f"{name}_tflm.elf", ())
    return elf, ops


def _link(src: Sources, lib: Path, cc: Path, elf: Path, extra: tuple[str, ...]) -> Path:
    entry_points = ENTRY_POINTS + (BY_OP_ENTRY_POINTS if extra else ())
    _run(
        [
            "arm-none-eabi-g++",
            *COMMON_FLAGS,
            *CXX_FLAGS,
            *extra,
            "-g",
            *src.includes(),
            str(cc),
            str(lib),
            *LINK_FLAGS,
            f"-Wl,-Map={elf.with_suffix('.map')}",
            *(f"-Wl,--undefined={sym}" for sym in entry_points),
            "-o",
            str(elf),
        ],
        f"linking {elf.name}",
    )
    return elf


def measure_by_op(src: Sources, lib: Path, elf: Path, inp: np.ndarray) -> dict[str, int]:
    """Exact instructions of each operator kind: the same harness built with the
    trampolines, one recorded Invoke(), then each node's invoke called and counted once."""
    cc = elf.with_name(elf.name.replace("_tflm.elf", "_tflm.cc"))
    by_op_elf = _link(src, lib, cc, elf.with_name(elf.stem + "_by_op.elf"), BY_OP_FLAGS)
    runner = ArmFunctionRunner(by_op_elf, "cortex-m4", stack_size=1 << 16)
    runner.write(runner.symbol("tflm_input"), inp.astype(np.int8).tobytes())
    if runner.call("tflm_setup", [], MAX_INSTRUCTIONS).return_value != 0:
        raise TflmCannotRun(f"{by_op_elf.name}: tflm_setup failed")
    nodes = runner.call("tflm_record", [], MAX_INSTRUCTIONS).return_value
    if nodes < 0:
        raise ToolError(f"{by_op_elf.name}: Invoke() failed")
    names = {v: k for k, v in vars(tflite.BuiltinOperator).items() if isinstance(v, int)}
    split: dict[str, int] = {}
    for i in range(nodes):
        call = runner.call("tflm_invoke_node", [i], MAX_INSTRUCTIONS)
        if call.return_value != 0:
            raise ToolError(f"{by_op_elf.name}: node {i} failed")
        op = names.get(runner.call("tflm_node_op", [i]).return_value, "?")
        split[op] = split.get(op, 0) + call.instructions
    return dict(sorted(split.items(), key=lambda kv: -kv[1]))


def gnu_size(elf: Path) -> tuple[int, int, int]:
    """text, data, bss as GNU size (Berkeley format) counts them."""
    text = data = bss = 0
    with elf.open("rb") as f:
        for sec in ELFFile(f).iter_sections():
            flags = sec["sh_flags"]
            if not flags & 0x2:  # SHF_ALLOC
                continue
            if sec["sh_type"] == "SHT_NOBITS":
                bss += sec["sh_size"]
            elif flags & 0x1:  # SHF_WRITE
                data += sec["sh_size"]
            else:
                text += sec["sh_size"]
    return text, data, bss


class TflmCannotRun(Exception):
    """TFLM rejects the model (AllocateTensors() fails); the message says why."""


def tflm_limit_hint(src: Sources, data: bytes) -> str:
    """The TFLM limit a model breaks, for the limits known to be hit by Keras exports."""
    common = src.tflm / "tensorflow/lite/micro/kernels/strided_slice_common.cc"
    m = re.search(r"kMaxDim\s*=\s*(\d+)", common.read_text()) if common.is_file() else None
    if m is not None:
        max_dim = int(m.group(1))
        model = tflite.Model.GetRootAsModel(data, 0)
        sg = model.Subgraphs(0)
        ops = model_operators(data)
        for i in range(sg.OperatorsLength()):
            op = sg.Operators(i)
            if ops[op.OpcodeIndex()] != "STRIDED_SLICE":
                continue
            rank = sg.Tensors(op.Inputs(0)).ShapeLength()
            if rank > max_dim:
                return (
                    f"operator {i} (STRIDED_SLICE): {rank}-D input, TFLM's strided slice "
                    f"takes at most {max_dim} (kMaxDim in kernels/strided_slice_common.cc)"
                )
    return "AllocateTensors() failed (a kernel's Prepare rejected an operator)"


def measure_tflm(elf: Path, model_bytes: int, inp: np.ndarray) -> TflmResult:
    runner = ArmFunctionRunner(elf, "cortex-m4", stack_size=1 << 16)
    runner.write(runner.symbol("tflm_input"), inp.astype(np.int8).tobytes())
    status = runner.call("tflm_setup", [], MAX_INSTRUCTIONS).return_value
    if status != 0:
        raise TflmCannotRun(f"{elf.name}: tflm_setup returned {status}")
    invoke = runner.call("tflm_invoke", [], MAX_INSTRUCTIONS)
    if invoke.return_value != 0:
        raise ToolError(f"{elf.name}: Invoke() failed")
    arena = runner.call("tflm_arena_used", []).return_value
    out_addr = runner.call("tflm_output", []).return_value & 0xFFFFFFFF
    out_n = runner.call("tflm_output_bytes", []).return_value
    output = np.frombuffer(runner.read(out_addr, out_n), dtype=np.int8)
    text, data, _ = gnu_size(elf)
    return TflmResult(
        instructions=invoke.instructions,
        arena_used=arena,
        flash=text + data,
        model_bytes=model_bytes,
        output=[int(v) for v in output],
    )


# ------------------------------------------------------------------ tinytx


def _number(pattern: str, text: str, what: str) -> int:
    m = re.search(pattern, text, re.MULTILINE)
    if m is None:
        raise ToolError(f"tinytx run: no {what} in its output")
    return int(m.group(1).replace(",", ""))


def measure_tinytx(model: Path, inp: np.ndarray, build: Path, arith: str = "match") -> TinytxResult:
    """`tinytx run <model> --board nucleo_l476rg_emu --tflite-arith <arith>` on one input;
    its printed figures."""
    build.mkdir(parents=True, exist_ok=True)
    inputs = build / f"{model.parent.name}_input.npz"
    np.savez(inputs, int8=inp[None].astype(np.int8))
    tinytx = Path(sys.executable).parent / "tinytx"
    cmd = [str(tinytx) if tinytx.is_file() else "tinytx", "run", str(model)]
    cmd += ["--board", BOARD, "--inputs", str(inputs), "--build-dir", str(build)]
    cmd += ["--tflite-arith", arith]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    text = proc.stdout
    if proc.returncode != 0 or not text.rstrip().endswith("MATCH"):
        tail = (text + proc.stderr).splitlines()[-8:]
        raise ToolError(f"{' '.join(cmd)} failed ({proc.returncode}):\n" + "\n".join(tail))
    # the firmware's console (QEMU's semihosting output) is on stderr
    m = re.search(r"MATCH out ([-\d ]+?)\s*$", text + proc.stderr, re.MULTILINE)
    output = [int(v) for v in m.group(1).split()] if m else None
    return TinytxResult(
        instructions=_number(r"instructions \(exact, unicorn[^:]*\): ([\d,]+)", text, "count"),
        arena=_number(r"^arena: ([\d,]+) bytes", text + "\n", "arena"),
        flash=_number(r"^\s*flash:\s+([\d,]+) bytes", text, "flash"),
        weights=_number(r"weights: ([\d,]+) bytes", text, "weights"),
        output=output,
    )


# --------------------------------------------------------------------- CLI


def _sources(args: argparse.Namespace) -> Sources:
    tflm = Path(args.tflm).resolve()
    if not (tflm / "tensorflow/lite/micro/micro_interpreter.h").is_file():
        raise ToolError(f"{tflm}: not a tflite-micro checkout (no tensorflow/lite/micro)")
    downloads = tflm / "tensorflow/lite/micro/tools/make/downloads"

    def pick(option: str | None, name: str, probe: str) -> Path:
        path = Path(option).resolve() if option else downloads / name
        if not (path / probe).exists():
            raise ToolError(f"{path}: no {probe} (give --{name.replace('_', '-')} DIR)")
        return path

    return Sources(
        tflm=tflm,
        cmsis_nn=pick(args.cmsis_nn, "cmsis_nn", "Include/arm_nnfunctions.h"),
        cmsis=pick(args.cmsis, "cmsis", "CMSIS/Core/Include/cmsis_compiler.h"),
        flatbuffers=pick(args.flatbuffers, "flatbuffers", "include/flatbuffers/flatbuffers.h"),
        gemmlowp=pick(args.gemmlowp, "gemmlowp", "fixedpoint/fixedpoint.h"),
        ruy=pick(args.ruy, "ruy", "ruy/profiler/instrumentation.h"),
    )


def _max_diff(a: np.ndarray | list[int], b: np.ndarray | list[int]) -> int | None:
    a, b = np.asarray(a, np.int32).ravel(), np.asarray(b, np.int32).ravel()
    return int(np.max(np.abs(a - b))) if a.size == b.size and a.size else None


def _diffs(model: Path, tflm: TflmResult, tt: TinytxResult) -> tuple[int | None, int | None]:
    ref = model.parent / "interpreter.npz"
    vs_interpreter = _max_diff(np.load(ref)["int8"][0], tflm.output) if ref.is_file() else None
    vs_tinytx = _max_diff(tt.output, tflm.output) if tt.output is not None else None
    return vs_interpreter, vs_tinytx


def _fmt_row(row: Row) -> str:
    t, x = row.tflm, row.tinytx
    if t is None:
        return (
            f"{row.model:<14}{'-':>14}{x.instructions:>13,}{'-':>8}"
            f"{'-':>11}{x.arena:>10,}{'-':>11}{x.flash:>10,}"
        )
    ratio = t.instructions / x.instructions
    return (
        f"{row.model:<14}{t.instructions:>14,}{x.instructions:>13,}{ratio:>7.1f}x"
        f"{t.arena_used:>11,}{x.arena:>10,}{t.flash:>11,}{x.flash:>10,}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tflm", required=True, help="tflite-micro checkout")
    parser.add_argument("--cmsis-nn", help="CMSIS-NN tree (default: TFLM's downloads/cmsis_nn)")
    parser.add_argument("--cmsis", help="CMSIS_6 tree (default: downloads/cmsis)")
    parser.add_argument("--flatbuffers", help="patched flatbuffers (default: downloads/...)")
    parser.add_argument("--gemmlowp", help="gemmlowp tree (default: downloads/gemmlowp)")
    parser.add_argument("--ruy", help="ruy tree (default: downloads/ruy)")
    parser.add_argument("--build-dir", default=str(REPO / "build" / "tflm_compare"))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument(
        "--by-op",
        action="store_true",
        help="also split TFLM's instructions by operator (a second firmware per model)",
    )
    parser.add_argument(
        "--tflite-arith",
        choices=["match", "fast"],
        default="match",
        help="tinytx's conversion: TFLite's LayerNorm steps (match) or its own (fast)",
    )
    parser.add_argument("--json", help="also write the figures as JSON to this file")
    parser.add_argument(
        "models",
        nargs="*",
        default=list(DEFAULT_MODELS),
        help=f"fixtures of tests/data/tflite or .tflite paths "
        f"(default: {' '.join(DEFAULT_MODELS)})",
    )
    args = parser.parse_args(argv)
    for tool in ("arm-none-eabi-g++", "arm-none-eabi-gcc", "arm-none-eabi-ar"):
        if shutil.which(tool) is None:
            print(f"tflm_compare: {tool} not found", file=sys.stderr)
            return 2
    try:
        src = _sources(args)
        build = Path(args.build_dir).resolve()
        lib = build_library(src, build, args.jobs)
        rows = []
        for spec in args.models:
            path = Path(spec)
            model_path = path if path.suffix == ".tflite" else FIXTURES / spec / "model.tflite"
            if not model_path.is_file():
                raise ToolError(f"{model_path}: no such model")
            name = model_path.parent.name if path.suffix != ".tflite" else path.stem
            inputs = np.load(model_path.parent / "inputs.npz")["int8"]
            data = model_path.read_bytes()
            inp = inputs[0].reshape(model_input_shape(data))
            print(f"{name}: TFLM firmware ...", flush=True)
            elf, ops = build_firmware(src, lib, name, data, inp.size, build / name)
            tflm_result: TflmResult | None = None
            tflm_error: str | None = None
            try:
                tflm_result = measure_tflm(elf, len(data), inp)
            except TflmCannotRun:
                tflm_error = tflm_limit_hint(src, data)
                print(f"{name}: TFLM cannot run it: {tflm_error}", flush=True)
            print(f"{name}: tinytx run ...", flush=True)
            tt = measure_tinytx(model_path, inp, build / "tinytx", args.tflite_arith)
            diffs = _diffs(model_path, tflm_result, tt) if tflm_result else (None, None)
            by_op = None
            if args.by_op and tflm_result is not None:
                by_op = measure_by_op(src, lib, elf, inp)
            rows.append(Row(name, ops, tflm_result, tflm_error, by_op, tt, *diffs))
    except ToolError as exc:
        print(f"tflm_compare: {exc}", file=sys.stderr)
        return 1

    print()
    print("TFLM: " + ", ".join(f"{k} {git_commit(v) or v}" for k, v in asdict(src).items()))
    print(
        "one inference on the emulated Cortex-M4 (instructions exact, unicorn); "
        f"tinytx: tinytx run --board {BOARD}"
    )
    print(
        f"{'model':<14}{'TFLM instr':>14}{'tinytx instr':>13}{'ratio':>8}"
        f"{'TFLM arena':>11}{'tx arena':>10}{'TFLM flash':>11}{'tx flash':>10}"
    )
    for row in rows:
        print(_fmt_row(row))
    for row in rows:
        if row.tflm_error is not None:
            print(f"{row.model}: TFLM cannot run it: {row.tflm_error}")
            continue
        print(
            f"{row.model}: output max |diff| TFLM vs TFLite interpreter "
            f"{row.tflm_vs_interpreter}, TFLM vs tinytx {row.tflm_vs_tinytx}"
        )
    for row in rows:
        if row.tflm_by_op:
            total = sum(row.tflm_by_op.values())
            parts = ", ".join(f"{op} {n:,}" for op, n in row.tflm_by_op.items())
            print(f"{row.model}: TFLM by operator (sum of the nodes {total:,}): {parts}")
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(r) for r in rows], indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
