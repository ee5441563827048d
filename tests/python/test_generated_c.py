"""The generated C drops into any firmware and two models live in one application.

- ``--name`` names the files and prefixes every symbol and macro; without it the files
  are model.c/model.h, test_data.c/.h;
- the generated C compiles with ``-std=c99 -Wall -Wextra -Wpedantic -Wconversion
  -Werror`` with the GCC placement of ``tinytx/compiler.h`` and with its other branches
  (no section, C11 ``_Alignas``, IAR's pragmas), both models' headers in one file;
- (firmware) the radar and ECG samples, converted with different names, link into one
  bare-metal Cortex-M4 firmware (tests/apps/two_models/main.c) that runs both on QEMU,
  bit-exact with the golden executor.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tinytx.core.codegen.project import ConvertOptions, convert
from tinytx.core.resources import baremetal_port_dir, kernels_dir, samples_dir
from tinytx.core.targets import get_target
from tinytx.toolchain import firmware
from tinytx.toolchain.build import cmake_build

pytest.importorskip("onnxruntime")

APP = Path(__file__).resolve().parents[1] / "apps" / "two_models"
FLAGS = ["-std=c99", "-O1", "-Wall", "-Wextra", "-Wpedantic", "-Wshadow", "-Wconversion"]
# tinytx/compiler.h's branches a host gcc can compile: its own, none, C11, IAR's pragmas
BRANCHES = {
    "gcc": [],
    "no-section": ["-DTINYTX_WEIGHTS_SECTION_NONE"],
    "c11-alignas": ["-std=c11", "-DTINYTX_WEIGHTS_SECTION_NONE", "-DTINYTX_ALIGNED(n)=_Alignas(n)"],
    "iar-pragmas": ["-D__IAR_SYSTEMS_ICC__", "-Wno-unknown-pragmas"],
}


def sample(name: str) -> Path:
    return samples_dir() / name / "model" / "model.onnx"


@pytest.fixture(scope="module")
def two(tmp_path_factory) -> dict[str, Path]:
    """radar and ecg converted with --name (arm kernels, the L476's plan)."""
    root = tmp_path_factory.mktemp("two")
    dirs = {}
    for name in ("radar", "ecg"):
        opts = ConvertOptions(board="nucleo_l476rg_emu", kernels="arm", name=name)
        convert(sample(name), opts).write(root / name)
        dirs[name] = root / name
    return dirs


def test_name_names_the_files_and_every_symbol(two: dict[str, Path]) -> None:
    for name, d in two.items():
        files = {p.name for p in d.iterdir()}
        assert {f"{name}.c", f"{name}.h", f"{name}_test_data.c", f"{name}_test_data.h"} <= files
        assert not files & {"model.c", "model.h", "test_data.c", "test_data.h"}
        source, header = (d / f"{name}.c").read_text(), (d / f"{name}.h").read_text()
        assert f'#include "{name}.h"' in source
        assert f'#include "{name}.h"' in (d / f"{name}_test_data.h").read_text()
        up = name.upper()
        for macro in re.findall(r"^#define (\w+)", header, re.M):
            assert macro.startswith((f"TINYTX_{up}_", f"TINYTX_MODEL_{up}_")), macro
        for macro in re.findall(r"^#define (\w+)", source, re.M):
            assert macro.startswith(f"TINYTX_{up}_OFF_"), macro
        # every file-scope definition is static or prefixed by the model's name
        for decl in re.findall(r"^(?!static|#|/|\s|}|TINYTX_)(.+?)[(\[=]", source, re.M):
            assert f"tinytx_{name}_" in decl, decl
        assert f"tinytx_status tinytx_{name}_run(" in header
        assert f"#define TINYTX_{up}_ERR_CORES ((tinytx_status)(-16))" in header
        # named offsets and designated initializers, no GCC attributes
        assert "arena + TINYTX_" in source and not re.search(r"arena \+ \d", source)
        assert "__attribute__" not in source + header
        assert re.search(r"_dims = \{\.", source) and not re.search(r"= \{\{?-?\d", source)


def test_default_name_keeps_model_files(tmp_path: Path) -> None:
    conv = convert(sample("ecg"), ConvertOptions(kernels="ref"))
    assert set(conv.files()) >= {"model.c", "model.h", "test_data.c", "test_data.h"}
    assert "tinytx_status tinytx_ecg_run(" in conv.generated.header
    assert '#include "model.h"' in conv.files()["test_data.h"]


def test_shape_and_layout_macros(two: dict[str, Path]) -> None:
    header = (two["radar"] / "radar.h").read_text()
    for line in (
        '#define TINYTX_RADAR_INPUT_LAYOUT "NHWC"',
        "#define TINYTX_RADAR_INPUT_N 16",
        "#define TINYTX_RADAR_INPUT_C 2",
        "#define TINYTX_RADAR_INPUT_DIM3 2",
        "#define TINYTX_RADAR_OUTPUT_E 11",
        "#define TINYTX_RADAR_INPUT_SIZE 8192",
    ):
        assert line in header


@pytest.mark.parametrize("branch", list(BRANCHES))
def test_both_models_compile_cleanly_in_every_placement_branch(
    two: dict[str, Path], tmp_path: Path, branch: str
) -> None:
    if shutil.which("gcc") is None:
        pytest.skip("no host gcc")
    includes = ["-I", str(kernels_dir() / "include")]
    for d in two.values():
        includes += ["-I", str(d)]
    sources = [APP / "main.c"]
    for name, d in two.items():
        sources += [d / f"{name}.c", d / f"{name}_test_data.c"]
    for src in sources:
        cmd = ["gcc", *FLAGS, *BRANCHES[branch], "-Werror", *includes, "-c", str(src)]
        proc = subprocess.run([*cmd, "-o", str(tmp_path / "x.o")], capture_output=True, text=True)
        assert proc.returncode == 0, f"{src.name} ({branch}): {proc.stderr}"


@pytest.mark.firmware
def test_two_models_in_one_cortex_m4_firmware(two: dict[str, Path], build_root: Path) -> None:
    target = get_target("m4")
    if shutil.which(target.qemu[0]) is None or shutil.which(f"{target.toolchain}-gcc") is None:
        pytest.skip("no Cortex-M4 toolchain/QEMU")
    convs = {
        name: convert(
            sample(name), ConvertOptions(board="nucleo_l476rg_emu", kernels="arm", name=name)
        )
        for name in two
    }
    sources = [APP / "main.c"]
    for name, conv in convs.items():
        sources += conv.sources(two[name])
    defines = {
        "TINYTX_APP_NAME": "two_models",
        "TINYTX_APP_SOURCES": ";".join(str(p) for p in sources),
        "TINYTX_APP_INCLUDE_DIRS": ";".join(str(d) for d in two.values()),
        "TINYTX_KERNEL_VARIANT": "arm",
    }
    build_dir = (build_root / "two_models").resolve()
    cmake_build(baremetal_port_dir(), build_dir, target, defines)
    run = firmware.run(target, build_dir / "two_models", timeout=600)
    assert run.returncode == 0, run.console
    assert "BOTH MATCH" in run.console
    for name, conv in convs.items():
        assert conv.test is not None
        assert f"{name}: {conv.test.count} of {conv.test.count} outputs equal" in run.console
        assert firmware.compare(conv, run, section=name) == []
