"""The Zephyr port and the Zephyr applications' C code, run without Zephyr.

Stand-ins for the few Zephyr headers the code includes (tests/python/zephyr_fixtures:
the kernel API on POSIX threads, ztest, printk, the timing API; Zephyr v4.2.0
signatures) let the very files a Zephyr build compiles run here, selected the way the
Zephyr build selects them (module/CMakeLists.txt and the applications' CMakeLists.txt
run in CMake script mode) and configured from their Kconfig (autoconf.h):

- module/ports/zephyr: tinytx_parallel_for on 1 and 4 threads (ThreadSanitizer);
- samples/mhsa_bench/src/main.c as on Zephyr (printk, the port's arena attribute and
  cycle counter): it prints what its sample.yaml's console harness and record regexes
  expect, MATCH included;
- the twister kernel suite (tests/kernels/zephyr): every ztest passes on QEMU Cortex-M4
  with the DSP kernels (the picolibc stream over the built-in vectors, as on Zephyr)
  within the heap prj.conf gives it, and a wrong expected byte fails its kernel's test
  on the host (glibc fmemopen, AddressSanitizer).
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.firmware

pytest.importorskip("kconfiglib", reason="kconfiglib is not installed (pip install -e '.[dev]')")
if shutil.which("cmake") is None or shutil.which("gcc") is None:
    pytest.skip("cmake and gcc are needed", allow_module_level=True)

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "zephyr_fixtures"
sys.path.insert(0, str(FIXTURES))

import zephyr_validators as v  # noqa: E402
from zephyr_host import (  # noqa: E402
    ASAN,
    autoconf,
    build_app_on_host,
    compile_host,
    configure,
    include_dirs,
    match_console,
    run_host,
    scenario,
)

from tinytx.core.resources import baremetal_port_dir  # noqa: E402
from tinytx.core.targets import get_target  # noqa: E402
from tinytx.core.vectors import generate_cases, write_cases  # noqa: E402
from tinytx.toolchain.build import cmake_build  # noqa: E402
from tinytx.toolchain.emu.qemu import run_program  # noqa: E402

PORT = REPO_ROOT / "module" / "ports" / "zephyr"
KERNEL_APP = REPO_ROOT / "tests" / "kernels" / "zephyr"
SAMPLE = REPO_ROOT / "samples" / "mhsa_bench"


def c_include_file(data: bytes, path: Path) -> Path:
    """The bytes as a C initializer list, as Zephyr's generate_inc_file_for_target."""
    rows = (", ".join(f"0x{b:02x}" for b in data[i : i + 16]) for i in range(0, len(data), 16))
    path.write_text(",\n".join(rows) + ",\n")
    return path


# --- the port's parallel split ---------------------------------------------------------


@pytest.mark.parametrize(
    "cores, sanitizer",
    [(1, ASAN), (4, ["-fsanitize=thread"])],
    ids=["1-core", "4-cores-tsan"],
)
def test_parallel_for_on_threads(tmp_path, cores, sanitizer):
    config = {
        "TINYTX": "y",
        "TINYTX_NUM_CORES": str(cores),
        "TINYTX_WORKER_STACK_SIZE": "1024",
        "TINYTX_WORKER_PRIORITY": "0",
        "SCHED_CPU_MASK": "y",
        "TINYTX_ARENA_SIZE": "64",
        "TINYTX_PROFILING": "y",
        "TINYTX_CYCLES_KERNEL": "y",
    }
    header = autoconf(config, tmp_path / "autoconf.h")
    sources = [*sorted((PORT / "src").glob("*.c")), FIXTURES / "src" / "kernel_shim.c"]
    sources.append(FIXTURES / "src" / "port_host_test.c")
    includes = [FIXTURES / "include", REPO_ROOT / "kernels" / "include", PORT / "include"]
    flags = [*sanitizer, "-pthread", "-include", str(header)]
    program = compile_host(sources, includes, tmp_path / "port_test", flags)
    result = run_host(program)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"PORT OK cores={cores}" in result.stdout
    assert "cycles: counter k_cycle_get_32" in result.stdout


# --- mhsa_bench's Zephyr path ----------------------------------------------------------


def test_mhsa_bench_prints_what_its_sample_yaml_expects(tmp_path):
    name = "sample.tinytx.mhsa_bench.ref_kernels"
    config, run = configure(SAMPLE, "sample.yaml", name, "nucleo_l476rg", tmp_path)
    assert config["MHSA_BENCH_SHAPE"] == "B" and config["TINYTX_KERNEL_VARIANT"] == "ref"
    assert ("TINYTX_PROFILING=1",) in run.args_of("zephyr_compile_definitions")
    result = run_host(build_app_on_host(SAMPLE, config, run, tmp_path / "mhsa_bench"))
    assert result.returncode == 0, result.stdout + result.stderr
    console = result.stdout
    records = match_console(scenario(SAMPLE / "sample.yaml", name), console)
    assert len(records) == 1, console
    assert records[0]["counter"] == "DWT" and int(records[0]["cycles"]) > 0


# --- the twister kernel suite ----------------------------------------------------------


def ztest_inputs(tmp_path: Path):
    """Sources, include directories and vector file of the twister kernel suite, from
    its CMakeLists.txt (which also writes tt_kernel_ztests.inc and the vectors)."""
    name = "tinytx.kernels.arm_dsp"
    config, run = configure(KERNEL_APP, "testcase.yaml", name, "nucleo_l476rg", tmp_path)
    (_app, vectors, _inc), *_ = run.args_of("generate_inc_file_for_target")
    ztests = tmp_path / "build" / "zephyr" / "include" / "generated" / "tt_kernel_ztests.inc"
    declared = re.findall(
        r"^void tt_test_(\w+)\(", (REPO_ROOT / "tests/kernels/src/tt_case.h").read_text(), re.M
    )
    assert ztests.read_text().count("TT_KERNEL_ZTEST(") == len(declared) > 0
    includes = [FIXTURES / "include", *include_dirs(run, KERNEL_APP), ztests.parent]
    sources = [*v.app_sources(run, KERNEL_APP), FIXTURES / "src" / "ztest_shim.c"]
    return config, sources, includes, Path(vectors), len(declared), run


def app_definitions(run) -> list[str]:
    """The compile definitions the suite's CMakeLists gives its ``app`` target."""
    return [
        d
        for args in run.args_of("target_compile_definitions")
        if args and args[0] == "app"
        for d in args[1:]
        if d not in ("PRIVATE", "PUBLIC", "INTERFACE")
    ]


def parse_ztest(output: str) -> tuple[list[str], list[str]]:
    return re.findall(r"^ PASS - (\w+)$", output, re.M), re.findall(
        r"^ FAIL - (\w+)$", output, re.M
    )


def test_ztest_suite_passes_on_qemu_m4(tmp_path, build_root):
    target = get_target("m4")
    if shutil.which(target.qemu[0]) is None or shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc and qemu-system-arm are needed")
    config, sources, includes, vectors, kernels, run = ztest_inputs(tmp_path)
    generated = tmp_path / "generated"
    generated.mkdir()
    c_include_file(vectors.read_bytes(), generated / "tt_vectors.inc")
    defines = {
        "TINYTX_APP_NAME": "tinytx_kernel_ztest",
        "TINYTX_APP_SOURCES": ";".join(map(str, sources)),
        "TINYTX_APP_INCLUDE_DIRS": ";".join(map(str, [*includes, generated])),
        "TINYTX_KERNEL_VARIANT": config["TINYTX_KERNEL_VARIANT"],
        # what the suite's CMakeLists defines for its app (the variant's pinned sizes)
        "TINYTX_APP_DEFINES": ";".join(app_definitions(run)),
    }
    build = cmake_build(baremetal_port_dir(), build_root / "zephyr-ztest-m4", target, defines)
    result = run_program(target, build / "tinytx_kernel_ztest", [], timeout=600)
    passed, failed = parse_ztest(result.stdout)
    assert result.returncode == 0 and not failed, result.stdout
    assert len(passed) == kernels + 2, result.stdout  # + vectors_covered, validation
    assert "PROJECT EXECUTION SUCCESSFUL" in result.stdout
    heap = int(re.search(r"^HEAP peak=(\d+)$", result.stdout, re.M)[1])
    arena = int(config["COMMON_LIBC_MALLOC_ARENA_SIZE"])
    assert heap <= 0.85 * arena, f"heap peak {heap} leaves too little of the {arena}-byte arena"


def test_ztest_suite_fails_on_a_wrong_expected_byte(tmp_path):
    _, sources, includes, vectors, _, _ = ztest_inputs(tmp_path)
    from tinytx.core.vectors import read_cases

    cases = read_cases(vectors)
    seed = int(re.search(r"SEED (\d+)", (KERNEL_APP / "CMakeLists.txt").read_text())[1])
    per_kernel = len(cases) // len({c[0] for c in cases})
    regenerated = generate_cases(seed, per_kernel)
    victim = next(c for c in regenerated if c.kernel == "layernorm")
    expected = victim.buffers[-1]
    expected.reshape(-1)[0] ^= 1  # the golden model's first output byte, flipped
    broken = tmp_path / "broken.bin"
    write_cases(broken, regenerated)
    assert broken.read_bytes() != vectors.read_bytes()
    generated = tmp_path / "generated"
    generated.mkdir()
    c_include_file(broken.read_bytes(), generated / "tt_vectors.inc")
    kernel_sources = sorted((REPO_ROOT / "kernels" / "src" / "ref").glob("*.c"))
    kernel_sources += sorted((REPO_ROOT / "kernels" / "src" / "parallel").glob("*.c"))
    program = compile_host(
        [*sources, *kernel_sources],
        [*includes, generated, REPO_ROOT / "kernels" / "include"],
        tmp_path / "ztest_host",
        ASAN,
    )
    result = run_host(program)
    _, failed = parse_ztest(result.stdout)
    assert result.returncode == 1, result.stdout + result.stderr
    assert failed == ["test_layernorm"], result.stdout
    assert f"FAIL kernel=layernorm case={victim.case_id} index=0" in result.stdout
    assert "PROJECT EXECUTION FAILED" in result.stdout
