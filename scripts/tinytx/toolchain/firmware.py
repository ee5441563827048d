"""Sample firmware for the emulated targets: build, run in QEMU, check, count.

The firmware is samples/common (``sample_main.c``, ``tinytx_sample.c``) + the sample's
``src/main.c`` + the generated model and test data sources (``model.c``/``test_data.c``,
or ``<name>.c``/``<name>_test_data.c`` with ``--name``), built by the bare-metal
port (module/ports/baremetal) with the target's flags. One QEMU run executes every test
input; the console lines are parsed and every output byte is compared with the golden
executor. On Cortex-M the same ELF's ``tinytx_<model>_run`` is called under unicorn
(:class:`tinytx.toolchain.bench.runner.CostedRunner`) for exact instructions and modelled cycles.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tinytx.core.codegen.project import Conversion
from tinytx.core.errors import TinytxError
from tinytx.core.resources import baremetal_port_dir, samples_dir
from tinytx.core.targets import Target
from tinytx.toolchain.build import cmake_build, exp_table_defines
from tinytx.toolchain.dirlock import directory_lock
from tinytx.toolchain.emu.qemu import run_program

if TYPE_CHECKING:
    from tinytx.toolchain.bench.profile import ModelProfile


def common_dir() -> Path:
    """The shared body of the model samples (samples/common)."""
    return samples_dir() / "common"


LINE = re.compile(r"^input (\d+): class (-?\d+) .*? out((?: -?\d+)+)\s*$")
HEADER = re.compile(r"^(\w+): \d+ test inputs, ")


@dataclass(frozen=True)
class FirmwareRun:
    console: str
    returncode: int
    sections: dict[str, dict[int, np.ndarray]]  # model -> input index -> output bytes

    @property
    def outputs(self) -> dict[int, np.ndarray]:
        """The outputs of the (first) model the firmware ran."""
        return next(iter(self.sections.values()), {})


@dataclass(frozen=True)
class Count:
    instructions: int
    modelled_cycles: int
    output: np.ndarray
    profile: ModelProfile | None = None  # the per-layer split, when asked for


def app_sources(conv: Conversion, gen_dir: Path, sample: str | None) -> list[Path]:
    if sample is not None:
        main = samples_dir() / sample / "src" / "main.c"
    else:
        main = gen_dir / "sample_name.c"
        main.write_text(f'const char tinytx_sample_name[] = "{conv.planned.name}";\n')
    return [
        common_dir() / "src" / "sample_main.c",
        common_dir() / "src" / "tinytx_sample.c",
        main,
        *conv.sources(gen_dir),
    ]


def sample_main_defines(conv: Conversion) -> dict[str, str]:
    """The compile definition that names the test data header sample_main.c includes
    (none: its default, test_data.h)."""
    header = conv.names.test_header
    return {} if header == "test_data.h" else {"TINYTX_TEST_DATA_HEADER": f'"{header}"'}


def build(
    conv: Conversion,
    gen_dir: Path,
    target: Target,
    kernels: str,
    build_dir: Path,
    sample: str | None = None,
    exp_table: bool = False,
) -> Path:
    """Build the sample firmware; returns the ELF. ``exp_table``: the arm kernels'
    table-driven softmax exp (:func:`tinytx.toolchain.build.exp_table_defines`)."""
    if conv.test is None:
        raise TinytxError(
            f"{conv.onnx}: no test inputs (test_inputs.npz next to the model, or --inputs)"
        )
    app = conv.planned.name
    sources = app_sources(conv, gen_dir, sample)
    defines = {
        "TINYTX_APP_NAME": app,
        "TINYTX_APP_SOURCES": ";".join(str(p) for p in sources),
        "TINYTX_APP_INCLUDE_DIRS": ";".join([str(gen_dir), str(common_dir() / "include")]),
        "TINYTX_KERNEL_VARIANT": target.check_kernels(kernels),
        **exp_table_defines(kernels, exp_table),
    }
    app_defines = [f"{k}={v}" for k, v in sample_main_defines(conv).items()]
    if app_defines:
        defines["TINYTX_APP_DEFINES"] = ";".join(app_defines)
    cmake_build(baremetal_port_dir(), build_dir, target, defines)
    return build_dir / app


def parse_console(text: str) -> dict[str, dict[int, np.ndarray]]:
    """Output bytes per model (``<model>: <n> test inputs, ...`` starts a section) and
    input (``input <i>: ... out <v0> <v1> ...``)."""
    sections: dict[str, dict[int, np.ndarray]] = {}
    current: dict[int, np.ndarray] = sections.setdefault("", {})
    for line in text.splitlines():
        line = line.strip()
        h = HEADER.match(line)
        if h:
            current = sections.setdefault(h.group(1), {})
            continue
        m = LINE.match(line)
        if m:
            current[int(m.group(1))] = np.array([int(v) for v in m.group(3).split()], np.int8)
    if not sections[""]:
        del sections[""]
    return sections


def run(target: Target, elf: Path, timeout: float = 600) -> FirmwareRun:
    res = run_program(target, elf, [], timeout=timeout)
    text = res.stdout + (res.stderr if res.returncode else "")
    return FirmwareRun(text, res.returncode, parse_console(res.stdout))


def compare(conv: Conversion, fw: FirmwareRun, section: str | None = None) -> list[str]:
    """Problems (empty: every test input's output equals the golden executor's)."""
    assert conv.test is not None
    problems = []
    outputs = fw.sections.get(section, {}) if section is not None else fw.outputs
    for i, want in enumerate(conv.test.expected):
        got = outputs.get(i)
        if got is None:
            problems.append(f"input {i}: no output line on the console")
        elif not np.array_equal(got, want):
            diff = int(np.flatnonzero(got != want)[0]) if got.shape == want.shape else -1
            problems.append(
                f"input {i}: firmware output differs from the golden executor at byte {diff}"
            )
    if fw.returncode != 0 and not problems:
        problems.append(f"firmware exited with {fw.returncode}")
    return problems


def multi_main(convs: list[Conversion]) -> str:
    """main() of a firmware that runs several models' test inputs in turn (the tests
    build one firmware per target for every sample instead of one per sample)."""
    lines = [
        "#include <stdint.h>",
        "",
        '#include "tinytx/types.h"',
        '#include "tinytx_sample.h"',
        "",
    ]
    calls = []
    for c in convs:
        n, m = c.planned.name, c.planned
        assert c.test is not None
        size_in, size_out = m.tensors[m.input].size, m.tensors[m.output].size
        arena = max(c.plan.arena_bytes, 4)
        lines += [
            f"tinytx_status tinytx_{n}_run(const int8_t *in, int8_t *out, uint8_t *arena);",
            f"extern const int8_t tinytx_{n}_test_inputs[{c.test.inputs.size}];",
            f"extern const int8_t tinytx_{n}_test_expected[{c.test.expected.size}];",
            f"extern const char *const tinytx_{n}_test_classes[{len(c.test.classes)}];",
            f"static uint8_t {n}_arena[{arena}] TINYTX_SAMPLE_ARENA_ATTR;",
            f"static int8_t {n}_output[{size_out}];",
            f'static const tinytx_sample {n}_sample = {{"{n}", "{m.source_sha256}", '
            f"tinytx_{n}_run, {size_in}, {size_out}, {n}_arena, {c.plan.arena_bytes}, "
            f"{n}_output, tinytx_{n}_test_inputs, tinytx_{n}_test_expected, {c.test.count}, "
            f"tinytx_{n}_test_classes, {len(c.test.classes)}}};",
            "",
        ]
        calls.append(f"\tstatus |= tinytx_sample_main(&{n}_sample);")
    lines += [
        'const char tinytx_sample_name[] = "models";',
        "",
        "int main(void)",
        "{",
        "\tint status = 0;",
        "",
        *calls,
        "\treturn status;",
        "}",
    ]
    return "\n".join(lines) + "\n"


def build_multi(
    convs: list[Conversion], gen_dirs: list[Path], target: Target, kernels: str, build_dir: Path
) -> Path:
    """One firmware running every conversion's test inputs (see :func:`multi_main`)."""
    build_dir.mkdir(parents=True, exist_ok=True)
    main = build_dir.parent / f"{build_dir.name}_main.c"
    main.write_text(multi_main(convs))
    sources = [common_dir() / "src" / "tinytx_sample.c", main]
    for c, d in zip(convs, gen_dirs, strict=True):
        sources += c.sources(d)
    defines = {
        "TINYTX_APP_NAME": "models",
        "TINYTX_APP_SOURCES": ";".join(str(p) for p in sources),
        "TINYTX_APP_INCLUDE_DIRS": str(common_dir() / "include"),
        "TINYTX_KERNEL_VARIANT": target.check_kernels(kernels),
    }
    cmake_build(baremetal_port_dir(), build_dir, target, defines)
    return build_dir / "models"


def status_name(status: int) -> str:
    """The name of a status a generated run function returns (the kernels' from their C,
    as the samples' tinytx_status_name prints it)."""
    from tinytx.core.codegen.model import ERR_CORES
    from tinytx.core.kernel_abi import kernel_abi

    if status == ERR_CORES:
        return "TINYTX_<NAME>_ERR_CORES"
    name = kernel_abi("ref").status_name(status)
    return "unknown status" if name.startswith("status ") else name


def count_instructions(
    elf: Path, cpu: str, conv: Conversion, x: np.ndarray, profile: bool = False
) -> Count:
    """Exact instructions and modelled cycles of one ``tinytx_<model>_run`` call on input
    ``x`` (firmware bytes), under unicorn; returns the output it computed. ``profile``:
    also split by layer (:mod:`tinytx.toolchain.bench.profile`)."""
    from tinytx.toolchain.bench.costs import CostModel
    from tinytx.toolchain.bench.profile import ProfilingRunner
    from tinytx.toolchain.bench.runner import CostedRunner

    m = conv.planned
    out_size = m.tensors[m.output].size
    arena = max(conv.plan.arena_bytes, 4)
    heap = x.size + out_size + arena + 64
    kind = ProfilingRunner if profile else CostedRunner
    runner = kind(elf, CostModel(cpu), scratch_size=heap)
    p_in = runner.alloc(np.ascontiguousarray(x, np.int8).tobytes(), 4)
    p_out = runner.alloc(out_size, 4)
    p_arena = runner.alloc(arena, 8)
    function = f"tinytx_{m.name}_run"
    prof = None
    if isinstance(runner, ProfilingRunner):
        prof, status = runner.profile(
            function, [p_in, p_out, p_arena], conv.generated.calls, cpu, conv.generated.prologue
        )
        instructions, cycles = prof.instructions, prof.modelled_cycles
    else:
        meas = runner.measure(function, [p_in, p_out, p_arena])
        status, instructions, cycles = meas.return_value, meas.instructions, meas.modelled_cycles
    if status != 0:
        raise TinytxError(f"{function} returned {status} ({status_name(status)}) under unicorn")
    out = np.frombuffer(runner.read(p_out, out_size), np.int8).copy()
    return Count(instructions, cycles, out, prof)


# ------------------------------------------------------------------ `tinytx run`


@dataclass(frozen=True)
class Source:
    """What ``tinytx run`` runs: an .onnx with its conversion options, and the sample
    whose src/main.c to build (None: a generic main)."""

    onnx: Path
    options: object  # ConvertOptions
    sample: str | None
    generated: Path | None = None  # a `tinytx convert` output directory to check


def resolve_source(
    text: str, board: str | None, kernels: str | None, opts=None, cores: int | None = None
) -> Source:
    """A sample name (``radar``), a sample directory, a `tinytx convert` output
    directory (converted again with its recorded options) or an .onnx file (converted
    with ``opts``, a :class:`ConvertOptions`). ``cores``: the cores the firmware runs its
    kernels on (the target's), which the conversion plans for."""
    from dataclasses import replace

    from tinytx.core.codegen.project import PROVENANCE, ConvertOptions, load_provenance

    path = Path(text)
    opts = replace(opts or ConvertOptions(), board=board, kernels=kernels, cores=cores)
    if path.is_dir() and (path / PROVENANCE).is_file():
        onnx, recorded = load_provenance(path)
        sample = onnx.parent.parent.name if onnx.parent.name == "model" else None
        if sample is not None and not (samples_dir() / sample / "src" / "main.c").is_file():
            sample = None
        again = replace(recorded, board=board, kernels=kernels, cores=cores)
        return Source(onnx, again, sample, path)
    for cand in (samples_dir() / text, path):
        onnx = cand / "model" / "model.onnx"
        if cand.is_dir() and onnx.is_file():
            name = cand.resolve().name
            has_main = (samples_dir() / name / "src" / "main.c").is_file()
            return Source(onnx, opts, name if has_main else None)
    if path.is_file() and path.suffix in (".onnx", ".tflite"):
        return Source(path, opts, None)
    samples = sorted(
        p.name for p in samples_dir().iterdir() if (p / "model" / "model.onnx").is_file()
    )
    raise TinytxError(
        f"{text}: not a sample ({', '.join(samples) or 'none yet'}), a tinytx convert output "
        "directory or an .onnx or .tflite file"
    )


@dataclass(frozen=True)
class EmulationResult:
    conversion: Conversion
    elf: Path
    firmware: FirmwareRun
    problems: tuple[str, ...]
    count: Count | None
    target: Target

    @property
    def ok(self) -> bool:
        return not self.problems


def emulate(
    source: Source,
    target: Target,
    kernels: str,
    build_root: Path,
    count: bool = True,
    echo=print,
    profile: bool = False,
    exp_table: bool = False,
    step: Callable[[str], None] | None = None,
) -> EmulationResult:
    """Convert ``source``, build its firmware for ``target``, run every test input in one
    QEMU run, compare with the golden executor and (Cortex-M) count instructions.
    ``echo`` gets the plan, the firmware's path and its console; ``step`` (default
    ``echo``) a line before each step that takes seconds (converting, building, QEMU,
    unicorn)."""
    from dataclasses import replace

    from tinytx.core.codegen.project import convert

    step = step or echo
    cores = source.options.cores or target.cores  # type: ignore[attr-defined]
    if cores != target.cores:
        raise TinytxError(
            f"{source.onnx}: planned for {cores} cores, the target {target.name} runs "
            f"{target.cores}"
        )
    step(f"converting {source.onnx} for {source.options.board or target.name} ...")
    conv = convert(source.onnx, replace(source.options, kernels=kernels, cores=cores))
    m = conv.planned
    where = f"{source.options.board or target.name}-{kernels}" + ("-exptable" if exp_table else "")
    where += f"-{cores}cores" if cores != 1 else ""
    root = (build_root / "run" / f"{m.name}-{where}").resolve()
    with directory_lock(root):
        gen = root / "generated"
        conv.write(gen)
        if source.generated is not None:
            for f in (conv.names.source, conv.names.header):
                mine, theirs = (gen / f).read_text(), (source.generated / f)
                if theirs.is_file() and theirs.read_text() != mine:
                    echo(f"note: {theirs} differs from a fresh conversion (converted again here)")
        echo("plan:")
        for line in conv.plan.describe():
            echo(f"  {line}")
        step(f"building firmware for {target.name} in {root / 'firmware'} ...")
        elf = build(conv, gen, target, kernels, root / "firmware", source.sample, exp_table)
        echo(f"firmware: {elf}")
        assert conv.test is not None  # build() refuses a model without test inputs
        step(f"running on QEMU ({' '.join(target.qemu[:3])}), {conv.test.count} test inputs ...")
        fw = run(target, elf)
        echo("--- QEMU console " + "-" * 40)
        echo(fw.console.rstrip())
        echo("-" * 57)
        problems = compare(conv, fw)
        counted = None
        if count and not problems and (target.cpu or "").startswith("cortex-m"):
            cpu = target.cpu or "cortex-m4"
            step(f"counting the instructions of one inference (unicorn, {cpu}) ...")
            counted = count_instructions(elf, cpu, conv, conv.test.inputs[0], profile)
            if not np.array_equal(counted.output, conv.test.expected[0]):
                problems.append("the unicorn run's output differs from the golden executor")
    return EmulationResult(conv, elf, fw, tuple(problems), counted, target)
