"""The Zephyr side of tinytx, checked without Zephyr (CI cannot install it).

Every validator of tests/python/zephyr_fixtures/zephyr_validators.py runs on the real files
and on deliberately broken copies, which must fail: west.yml (west's parser, the cmsis_6
release), module.yml and every sample.yaml / testcase.yaml (pykwalify with Zephyr's
schemas), the tinytx snippet (Zephyr's snippet schema, its board keys and files),
module/Kconfig and each application's Kconfig and .conf fragments (kconfiglib, per board,
through the snippet), every application's CMakeLists.txt and module/CMakeLists.txt
(CMake, Zephyr stubbed: sources, the conversion's configure dependencies, the provenance
of a pre-converted model), the board overlays and flash load limits (against
boards/boards.yaml), the port's weights-partition address (compiled over a devicetree
with `ranges`), the kernel suite's ztests as twister's scanner reads them, and the
Kconfig arguments of successive `tinytx build` runs. The applications and twister files
are discovered, so samples added later are checked the same way.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytest.importorskip("west", reason="west is not installed (pip install -e '.[dev]')")
pytest.importorskip("pykwalify", reason="pykwalify is not installed (pip install -e '.[dev]')")
pytest.importorskip("kconfiglib", reason="kconfiglib is not installed (pip install -e '.[dev]')")

REPO_ROOT = Path(__file__).resolve().parents[2]
BOARDS_YAML = REPO_ROOT / "boards" / "boards.yaml"
sys.path.insert(0, str(Path(__file__).resolve().parent / "zephyr_fixtures"))

import zephyr_validators as v  # noqa: E402

from tinytx.core.boards import get_board, load_boards  # noqa: E402
from tinytx.toolchain.appbuild.workspace import (  # noqa: E402
    KERNEL_SYMBOLS,
    ZephyrBuildOptions,
    prepare_build_dir,
)

HAS_CMAKE = shutil.which("cmake") is not None
needs_cmake = pytest.mark.skipif(not HAS_CMAKE, reason="cmake is not installed")


def zephyr_apps() -> list[Path]:
    """Directories of samples/ and tests/ whose CMakeLists.txt finds Zephyr."""
    apps = []
    found = [
        *REPO_ROOT.glob("samples/*/CMakeLists.txt"),
        *REPO_ROOT.glob("tests/**/CMakeLists.txt"),
    ]
    for cml in sorted(found):
        if "find_package(Zephyr" in cml.read_text():
            apps.append(cml.parent)
    return apps


def twister_files() -> list[Path]:
    files = [*REPO_ROOT.glob("samples/**/sample.yaml"), *REPO_ROOT.glob("tests/**/testcase.yaml")]
    return sorted(p for p in files if "zephyr_fixtures" not in p.parts)


def rel(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT))


def broken_copy(tmp_path: Path, original: Path, old: str, new: str) -> Path:
    text = original.read_text()
    assert old in text, f"{old!r} is not in {original} any more: update the broken copy"
    path = tmp_path / original.name
    path.write_text(text.replace(old, new, 1))
    return path


# --- west.yml --------------------------------------------------------------------------


def test_west_manifest_is_valid():
    v.check_west_manifest(REPO_ROOT / "west.yml")


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("name-allowlist:", "name-allowlst:", "west rejects it"),
        ("revision: v4.2.0", "revision: main", "not a pinned 4.x release"),
        ("          - hal_stm32\n", "", "lacks hal_stm32"),
        ("west-commands: scripts/west-commands.yml", "west-commands: scripts/wc.yml", "not exist"),
        ("      remote: zephyrproject-rtos\n", "", "west rejects it"),
        ("  projects:", "  projects: [", "not valid YAML"),
    ],
)
def test_west_manifest_broken_copies_fail(tmp_path, old, new, message):
    path = broken_copy(tmp_path, REPO_ROOT / "west.yml", old, new)
    with pytest.raises(v.ZephyrCheckError, match=message):
        v.check_west_manifest(path)


# --- zephyr/module.yml -----------------------------------------------------------------


def test_module_yml_is_valid():
    data = v.check_module_yml(REPO_ROOT / "zephyr" / "module.yml")
    assert data["build"]["cmake"] == "module"
    assert data["build"]["kconfig"] == "module/Kconfig"
    # A snippet root, no board root: the repository defines no board of its own.
    assert data["build"]["settings"] == {"snippet_root": "."}


def test_west_cmsis_6_comment_names_the_right_release():
    v.check_west_comments(REPO_ROOT / "west.yml")


def test_west_cmsis_6_comment_broken_copy_fails(tmp_path):
    path = broken_copy(tmp_path, REPO_ROOT / "west.yml", "Since Zephyr 4.2", "Since Zephyr 4.1")
    with pytest.raises(v.ZephyrCheckError, match=r"moved to CMSIS_6 in Zephyr 4\.2"):
        v.check_west_comments(path)


# --- snippets/tinytx -------------------------------------------------------------------

SNIPPET = REPO_ROOT / "snippets" / "tinytx" / "snippet.yml"
BOARD_FILES = REPO_ROOT / "boards" / "zephyr"


def test_snippet_is_valid_and_adds_every_board_file():
    snippet = v.check_snippet(SNIPPET)
    assert snippet.name == "tinytx"
    common = REPO_ROOT / "snippets" / "tinytx" / "tinytx.conf"
    assert snippet.appends["EXTRA_CONF_FILE"] == (common.resolve(),)
    board_files = sorted(BOARD_FILES.glob("*.overlay")) + sorted(BOARD_FILES.glob("*.conf"))
    assert board_files
    for path in board_files:
        variable = "EXTRA_DTC_OVERLAY_FILE" if path.suffix == ".overlay" else "EXTRA_CONF_FILE"
        got = v.snippet_files("tinytx", path.stem, variable)
        assert path.resolve() in got, f"the snippet does not add {rel(path)} on {path.stem}"
    # A board without tinytx files gets the common fragment only.
    assert v.snippet_files("tinytx", "mps3/corstone300/an547", "EXTRA_CONF_FILE") == [
        common.resolve()
    ]
    assert v.snippet_files("tinytx", "mps3/corstone300/an547", "EXTRA_DTC_OVERLAY_FILE") == []


def snippet_tree(tmp_path: Path, old: str, new: str) -> Path:
    """A broken copy of snippets/tinytx/snippet.yml at the same depth, so that its
    relative paths reach the real boards/ (linked) and tinytx.conf (copied)."""
    (tmp_path / "boards").symlink_to(REPO_ROOT / "boards")
    directory = tmp_path / "snippets" / "tinytx"
    directory.mkdir(parents=True)
    shutil.copy(SNIPPET.parent / "tinytx.conf", directory / "tinytx.conf")
    broken = broken_copy(tmp_path, SNIPPET, old, new)
    return broken.rename(directory / "snippet.yml")


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("name: tinytx", "name: tiny tx", "invalid snippet name"),
        ("name: tinytx\n", "", "name"),
        ("  nucleo_h743zi/stm32h743xx:", "  nucleo_h743zi:", "matches no board target"),
        ("  nucleo_l476rg/stm32l476xx:", "  /nucleo_l476rg.*:", "must end with '/'"),
        ("../../boards/zephyr/nucleo_l476rg.overlay", "../boards/zephyr/nucleo_l476rg.overlay",
         "file not found"),
        ("EXTRA_DTC_OVERLAY_FILE: ../../boards/zephyr/nucleo_h743zi.overlay",
         "EXTRA_DTC_OVERLAY: ../../boards/zephyr/nucleo_h743zi.overlay", "EXTRA_DTC_OVERLAY"),
        ("append:\n  EXTRA_CONF_FILE: tinytx.conf\n", "", "no common append"),
        ("    append:\n      EXTRA_DTC_OVERLAY_FILE: ../../boards/zephyr/nucleo_l476rg.overlay",
         "    apend:\n      EXTRA_DTC_OVERLAY_FILE: ../../boards/zephyr/nucleo_l476rg.overlay",
         "apend"),
    ],
)  # fmt: skip
def test_snippet_broken_copies_fail(tmp_path, old, new, message):
    path = snippet_tree(tmp_path, old, new)
    with pytest.raises(v.ZephyrCheckError, match=message):
        v.check_snippet(path)


def test_no_application_adds_board_files_itself():
    """The board files come from the snippet (required_snippets), not from CMake code run
    before find_package(Zephyr)."""
    for app in zephyr_apps():
        text = (app / "CMakeLists.txt").read_text()
        for word in ("EXTRA_DTC_OVERLAY_FILE", "EXTRA_CONF_FILE", "boards/zephyr"):
            assert word not in text, f"{rel(app)}/CMakeLists.txt: {word}"


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("snippet_root: .", "snippet-root: .", "snippet-root"),
        ("    snippet_root: .\n", "    snippet_root: .\n    board_root: .\n", "defines no board"),
        ("snippet_root: .", "snippet_root: snippets", "has no snippets/"),
        ("cmake: module", "cmake: modules", "holds no CMakeLists.txt"),
        ("kconfig: module/Kconfig", "kconfig: module/Kconfig.tinytx", "is not a file"),
        ("samples:\n  - samples", "samples: samples", "samples"),
        ("tests:\n  - tests", "tests:\n  - test", "is not a directory"),
    ],
)
def test_module_yml_broken_copies_fail(tmp_path, old, new, message):
    path = broken_copy(tmp_path, REPO_ROOT / "zephyr" / "module.yml", old, new)
    with pytest.raises(v.ZephyrCheckError, match=message):
        v.check_module_yml(path)


# --- sample.yaml / testcase.yaml -------------------------------------------------------


def test_every_zephyr_app_has_its_files():
    apps = zephyr_apps()
    names = {rel(a) for a in apps}
    assert {"samples/mhsa_bench", "tests/kernels/zephyr"} <= names, names
    yaml_dirs = {rel(p.parent) for p in twister_files()}
    assert yaml_dirs == names, "each Zephyr app needs a sample.yaml/testcase.yaml and back"
    for app in apps:
        assert (app / "prj.conf").is_file(), f"{rel(app)} has no prj.conf"


@pytest.mark.parametrize("path", twister_files(), ids=rel)
def test_twister_file_is_valid(path):
    scenarios = v.check_twister_yaml(path)
    assert scenarios
    for s in scenarios:
        assert s.platforms, f"{rel(path)}: {s.name} allows no platform"
        assert "tinytx" in s.snippets, f"{rel(path)}: {s.name} does not use the tinytx snippet"


def test_without_the_snippet_the_weights_partition_is_not_offered(tmp_path):
    """A twister file that forgets required_snippets loses the board files: the
    weights-partition scenario no longer configures."""
    broken = broken_copy(tmp_path, SAMPLE_YAML, "  required_snippets:\n    - tinytx\n", "")
    (scenario,) = [s for s in v.check_twister_yaml(broken) if s.name.endswith("weights_partition")]
    assert scenario.snippets == ()
    with pytest.raises(v.ZephyrCheckError, match="WEIGHTS_PARTITION was assigned 'y' but got 'n'"):
        v.app_configuration(SAMPLE, scenario, "nucleo_h743zi")


SAMPLE = REPO_ROOT / "samples" / "mhsa_bench"
SAMPLE_YAML = SAMPLE / "sample.yaml"


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("    platform_allow:", "    platform_alow:", "platform_alow"),
        ('      regex:\n        - "cycles', '      regex: "cycles', "not a list"),
        ("      - mps3/corstone300/an547\n", "      - mps3/an547\n", "is not one of"),
        ("  sample.tinytx.mhsa_bench:", "  mhsa_bench:", "not dotted lowercase"),
        ("(?P<cycles>\\\\d+)", "(?P<cycles>\\\\d+", "missing \\)"),
        (
            r"(?P<cycles>\\d+) \\((?P<counter>[^,]+), (?P<hz>\\d+)",
            r"(\\d+) \\(([^,]+), (\\d+)",
            "no named group",
        ),
        ("    type: multi_line\n", "", "console harness"),
        ("      - CONFIG_TINYTX_KERNELS_REF=y", "      - TINYTX_KERNELS_REF=y", "extra_configs"),
        ("  timeout: 120", "  timeout: two minutes", "timeout"),
    ],
)
def test_twister_broken_copies_fail(tmp_path, old, new, message):
    path = broken_copy(tmp_path, SAMPLE_YAML, old, new)
    with pytest.raises(v.ZephyrCheckError, match=message):
        v.check_twister_yaml(path)


# --- Kconfig ---------------------------------------------------------------------------


def test_every_twister_board_has_a_kconfig_profile():
    assert set(v.known_boards()) <= set(v.board_profiles())


def module_kconfig(profile: str):
    kconf = v.load_kconfig(profile)
    v.apply_fragments(kconf, ["CONFIG_TINYTX=y"], profile)
    return kconf


@pytest.mark.parametrize(
    "profile, dsp, dtcm, partition, variant",
    [
        ("nucleo_l476rg", True, False, True, "arm"),
        ("nucleo_h743zi", True, True, True, "arm"),
        ("mps3/corstone300/an547", True, False, False, "arm"),
        ("qemu_cortex_m3", False, False, False, "ref"),
    ],
)
def test_module_kconfig_per_board(profile, dsp, dtcm, partition, variant):
    kconf = module_kconfig(profile)
    syms = kconf.syms
    assert bool(syms["TINYTX_KERNELS_ARM_DSP"].visibility) == dsp
    assert bool(syms["TINYTX_ARENA_DTCM"].visibility) == dtcm
    assert bool(syms["TINYTX_WEIGHTS_PARTITION"].visibility) == partition
    assert syms["TINYTX_KERNEL_VARIANT"].str_value == variant
    assert syms["TINYTX_NUM_CORES"].str_value == "1"
    if partition:
        v.apply_fragments(kconf, ["CONFIG_TINYTX_WEIGHTS_PARTITION=y"], profile)
        assert syms["TINYTX_WEIGHTS_IMAGE"].str_value == "y"


@pytest.mark.parametrize("profile", ["nucleo_l476rg", "qemu_cortex_m3"])
def test_exp_table_is_an_arm_option_off_by_default(profile):
    kconf = module_kconfig(profile)
    sym = kconf.syms["TINYTX_ARM_EXP_TABLE"]
    assert sym.str_value == "n"
    arm = profile != "qemu_cortex_m3"
    assert bool(sym.visibility) == arm
    if arm:
        v.apply_fragments(kconf, ["CONFIG_TINYTX_ARM_EXP_TABLE=y"], profile)
        assert sym.str_value == "y"
        v.apply_fragments(kconf, ["CONFIG_TINYTX_KERNELS_REF=y"], profile)
        assert sym.str_value == "n"  # the reference kernels have no table


def test_num_cores_follow_smp():
    smp = module_kconfig("qemu_riscv32_smp")
    v.apply_fragments(smp, ["CONFIG_TINYTX_NUM_CORES=4", "CONFIG_TINYTX_KERNELS_RISCV=y"], "smp")
    assert smp.syms["TINYTX_KERNEL_VARIANT"].str_value == "riscv"
    assert smp.syms["TINYTX_WORKER_STACK_SIZE"].visibility
    with pytest.raises(v.ZephyrCheckError, match="NUM_CORES was assigned '9'"):
        v.apply_fragments(module_kconfig("qemu_riscv32_smp"), ["CONFIG_TINYTX_NUM_CORES=9"], "smp")
    with pytest.raises(v.ZephyrCheckError, match="NUM_CORES was assigned '2'"):
        v.apply_fragments(module_kconfig("nucleo_h743zi"), ["CONFIG_TINYTX_NUM_CORES=2"], "m7")


def test_profiling_counter_follows_timing_functions():
    kconf = module_kconfig("nucleo_h743zi")
    v.apply_fragments(kconf, ["CONFIG_TINYTX_PROFILING=y"], "m7")
    assert kconf.syms["TINYTX_CYCLES_KERNEL"].str_value == "y"
    v.apply_fragments(kconf, ["CONFIG_TIMING_FUNCTIONS=y"], "m7")
    assert kconf.syms["TINYTX_CYCLES_DWT"].str_value == "y"
    assert kconf.syms["CORTEX_M_DWT"].str_value == "y"


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("endif # TINYTX_PROFILING\n", "", "endif"),
        (
            "depends on CPU_CORTEX_M4 || CPU_CORTEX_M7",
            "depends on CPU_CORTEX_M44",
            "CPU_CORTEX_M44",
        ),
        (
            "\tdefault 1\n\trange 1 MP_MAX_NUM_CPUS if SMP",
            "\tdefault 1\n\trange 1 MAX_CPUS if SMP",
            "MAX_CPUS",
        ),
    ],
)
def test_kconfig_broken_copies_fail(tmp_path, old, new, message):
    path = broken_copy(tmp_path, REPO_ROOT / "module" / "Kconfig", old, new)
    with pytest.raises(v.ZephyrCheckError, match=message):
        v.load_kconfig("nucleo_h743zi", module_kconfig=path)


@pytest.mark.parametrize(
    "profile, fragment, message",
    [
        ("nucleo_h743zi", "CONFIG_TINYTX_PROFILNG=y", "not a Kconfig symbol"),
        ("nucleo_l476rg", "CONFIG_TINYTX_ARENA_DTCM=y", "ARENA_DTCM was assigned 'y' but got 'n'"),
        (
            "qemu_cortex_m3",
            "CONFIG_TINYTX_KERNELS_ARM_DSP=y",
            "ARM_DSP was assigned 'y' but got 'n'",
        ),
        ("mps3/corstone300/an547", "CONFIG_TINYTX_WEIGHTS_PARTITION=y", "but got 'n'"),
    ],
)
def test_conf_fragments_that_do_not_apply_fail(profile, fragment, message):
    with pytest.raises(v.ZephyrCheckError, match=message):
        v.apply_fragments(module_kconfig(profile), [fragment], profile)


# --- every application: Kconfig fragments per board, then its CMake --------------------


def app_scenarios() -> list[tuple[Path, v.Scenario, str]]:
    cases = []
    for path in twister_files():
        for scenario in v.check_twister_yaml(path):
            for board in scenario.platforms:
                cases.append((path.parent, scenario, board))
    return cases


@pytest.mark.parametrize(
    "app, scenario, board",
    app_scenarios(),
    ids=[f"{s.name}-{b}" for _, s, b in app_scenarios()],
)
def test_app_configuration_applies(app, scenario, board):
    kconf = v.app_configuration(app, scenario, board)
    assert kconf.syms["TINYTX"].str_value == "y"


def cmake_cases() -> list[tuple[Path, v.Scenario, str]]:
    """One CMake run per application scenario, on its first platform."""
    seen, cases = set(), []
    for app, scenario, board in app_scenarios():
        if (app, scenario.name) not in seen:
            seen.add((app, scenario.name))
            cases.append((app, scenario, board))
    return cases


@needs_cmake
@pytest.mark.parametrize(
    "app, scenario, board", cmake_cases(), ids=[s.name for _, s, _ in cmake_cases()]
)
def test_app_cmake_runs(tmp_path, app, scenario, board):
    config = v.config_values(v.app_configuration(app, scenario, board))
    run = v.run_cmake_stub(app / "CMakeLists.txt", config, board, tmp_path)
    sources = v.app_sources(run, app)
    assert any(p.parent == app / "src" for p in sources), sources
    lib = v.library_sources(run)
    variant = config["TINYTX_KERNEL_VARIANT"]
    assert any(f"/kernels/src/{variant}/" in str(p) for p in lib)
    added = [a for args in run.args_of("EXTRA_DTC_OVERLAY_FILE") for a in args]
    assert added == [], "board overlays come from the tinytx snippet"
    if "TINYTX_WEIGHTS_PARTITION" in config:
        assert (tmp_path / "tinytx_generated" / "weights.hex").is_file()


def shadow_tree(tmp_path: Path, copied: str) -> Path:
    """A stand-in checkout under tmp_path: ``copied`` (a directory) copied, everything
    else linked to this one, so that a broken copy runs with its real relative paths."""
    root = tmp_path / "tree"
    root.mkdir()
    for top in ("boards", "kernels", "module", "samples", "scripts", "tests"):
        if top == copied.split("/")[0]:
            (root / top).mkdir()
            for entry in (REPO_ROOT / top).iterdir():
                if entry.name != copied.split("/")[1]:
                    (root / top / entry.name).symlink_to(entry)
            if (REPO_ROOT / copied).is_dir():
                shutil.copytree(REPO_ROOT / copied, root / copied, symlinks=True)
            else:
                shutil.copy2(REPO_ROOT / copied, root / copied)
        else:
            (root / top).symlink_to(REPO_ROOT / top)
    return root


@needs_cmake
@pytest.mark.parametrize(
    "old, new, message",
    [
        ("project(mhsa_bench)", "project(mhsa_bench", "Parse error"),
        (
            "target_sources(app PRIVATE src/main.c",
            "target_sources(app PRIVATE src/mian.c",
            "src/mian.c does not exist",
        ),
        ("SAMPLE mhsa_bench", "SAMPLE mhsa-bench", "mhsa-bench"),
    ],
)
def test_app_cmake_broken_copies_fail(tmp_path, old, new, message):
    root = shadow_tree(tmp_path, "samples/mhsa_bench")
    app = root / "samples" / "mhsa_bench"
    broken = broken_copy(tmp_path, app / "CMakeLists.txt", old, new)
    shutil.copy(broken, app / "CMakeLists.txt")
    config = {"TINYTX": "y", "TINYTX_KERNEL_VARIANT": "ref", "MHSA_BENCH_SHAPE": "B",
              "MHSA_BENCH_SEED": "7"}  # fmt: skip
    with pytest.raises(v.ZephyrCheckError, match=message):
        run = v.run_cmake_stub(app / "CMakeLists.txt", config, "nucleo_h743zi", tmp_path / "b")
        v.app_sources(run, app)


MODEL_SAMPLE_CMAKE = """\
cmake_minimum_required(VERSION 3.20.0)
find_package(Zephyr REQUIRED HINTS $ENV{ZEPHYR_BASE})
project(tiny_model)
tinytx_model_sample()
"""


def model_app(tmp_path: Path) -> Path:
    """A model sample like radar's in a stand-in checkout: src/main.c, model/model.onnx
    (a stand-in file: these tests never convert it) and the CMakeLists.txt of the model
    samples."""
    root = shadow_tree(tmp_path, "samples/mhsa_bench")
    app = root / "samples" / "tiny_model"
    (app / "src").mkdir(parents=True)
    (app / "src" / "main.c").write_text('const char tinytx_sample_name[] = "tiny_model";\n')
    (app / "model").mkdir()
    (app / "model" / "model.onnx").write_bytes(b"stand-in")
    (app / "CMakeLists.txt").write_text(MODEL_SAMPLE_CMAKE)
    return app


def converted(tmp_path: Path, model: Path, board: str | None, kernels: str | None) -> Path:
    """What `tinytx convert <model> -o <dir> [--board] [--kernels]` leaves: C sources and
    tinytx-model.json (its provenance)."""
    generated = tmp_path / "converted"
    generated.mkdir()
    for name in ("model.c", "test_data.c"):
        (generated / name).write_text("/* converted */\n")
    record = {"onnx": str(model), "options": {"board": board, "kernels": kernels}}
    (generated / "tinytx-model.json").write_text(json.dumps(record))
    return generated


def configure_model_app(tmp_path, app, generated, board="nucleo_l476rg", variant="arm"):
    config = {"TINYTX": "y", "TINYTX_KERNEL_VARIANT": variant}
    return v.run_cmake_stub(
        app / "CMakeLists.txt", config, board, tmp_path / "b",
        defines={"TINYTX_GENERATED_DIR": str(generated)},
    )  # fmt: skip


@needs_cmake
def test_model_sample_helper_collects_its_sources(tmp_path):
    """tinytx_model_sample(), what radar/eeg/ecg's CMakeLists.txt call: the sample's own
    sources, samples/common's and the converted model's (here a stand-in directory, as
    `tinytx build` passes after converting)."""
    app = model_app(tmp_path)
    generated = converted(tmp_path, app / "model" / "model.onnx", "nucleo_l476rg", "arm")
    run = configure_model_app(tmp_path, app, generated)
    names = {p.name for p in v.app_sources(run, app)}
    common = {p.name for p in (REPO_ROOT / "samples" / "common" / "src").glob("*.c")}
    assert names == {"main.c", "model.c", "test_data.c"} | common
    includes = [a for args in run.args_of("target_include_directories") for a in args]
    assert str(generated) in includes
    # A later edit of the model or a new conversion re-runs the check.
    v.check_configure_depends(run, [generated / "tinytx-model.json", app / "model" / "model.onnx"])


@needs_cmake
@pytest.mark.parametrize(
    "build_board, converted_board, converted_kernels, variant",
    [
        ("nucleo_l476rg/stm32l476xx", "nucleo_l476rg", "arm", "arm"),  # qualifiers dropped
        ("nucleo_h743zi@1.0.0", "nucleo_h743zi", "ref", "ref"),  # revision dropped
        ("mps3/corstone300/an547", None, "arm", "arm"),  # not in boards.yaml: no board
    ],
)
def test_pre_converted_model_matching_the_build_is_used(
    tmp_path, build_board, converted_board, converted_kernels, variant
):
    app = model_app(tmp_path)
    model = app / "model" / "model.onnx"
    generated = converted(tmp_path, model, converted_board, converted_kernels)
    run = configure_model_app(tmp_path, app, generated, build_board, variant)
    assert any(p.name == "model.c" for p in v.app_sources(run, app))


@needs_cmake
@pytest.mark.parametrize(
    "build_board, converted_board, converted_kernels, message",
    [
        ("nucleo_l476rg", "nucleo_h743zi", "arm",
         "converted for board nucleo_h743zi with the arm kernels, but this build is for board"
         " nucleo_l476rg with the arm kernels"),
        ("nucleo_l476rg/stm32l476xx", "nucleo_l476rg", "ref",
         "converted for board nucleo_l476rg with the ref kernels, but this build is for board"
         " nucleo_l476rg with the arm kernels"),
        ("nucleo_l476rg", "nucleo_l476rg", None, "with the unspecified kernels"),
        ("nucleo_l476rg", None, "arm", "converted for board none with the arm kernels"),
        ("mps3/corstone300/an547", "nucleo_l476rg", "arm", "this build is for board none"),
    ],
)  # fmt: skip
def test_pre_converted_model_of_another_build_stops_the_configure(
    tmp_path, build_board, converted_board, converted_kernels, message
):
    app = model_app(tmp_path)
    model = app / "model" / "model.onnx"
    generated = converted(tmp_path, model, converted_board, converted_kernels)
    with pytest.raises(v.ZephyrCheckError, match=re.escape(message)):
        configure_model_app(tmp_path, app, generated, build_board, "arm")


@needs_cmake
def test_pre_converted_model_of_another_model_or_older_stops_the_configure(tmp_path):
    app = model_app(tmp_path)
    model = app / "model" / "model.onnx"
    other = converted(tmp_path, tmp_path / "other.onnx", "nucleo_l476rg", "arm")
    with pytest.raises(v.ZephyrCheckError, match=r"was converted from .*other\.onnx"):
        configure_model_app(tmp_path, app, other)
    shutil.rmtree(other)
    generated = converted(tmp_path, model, "nucleo_l476rg", "arm")
    later = (generated / "tinytx-model.json").stat().st_mtime + 60
    os.utime(model, (later, later))
    with pytest.raises(v.ZephyrCheckError, match=r"changed after .* was converted"):
        configure_model_app(tmp_path, app, generated)
    (generated / "tinytx-model.json").unlink()
    with pytest.raises(v.ZephyrCheckError, match="not a `tinytx convert` output"):
        configure_model_app(tmp_path, app, generated)


def tool_inputs() -> list[Path]:
    """What every tinytx generator reads besides its model: the package and boards.yaml."""
    return [*sorted((REPO_ROOT / "scripts" / "tinytx").rglob("*.py")), BOARDS_YAML]


@needs_cmake
def test_conversion_at_configure_time_tracks_its_inputs(tmp_path):
    """Without a pre-converted directory the model is converted at configure time, and
    the model, its calibration and test inputs, their directory and the tinytx sources
    are configure dependencies: editing any of them converts again."""
    app = REPO_ROOT / "samples" / "ecg"
    config = {"TINYTX": "y", "TINYTX_KERNEL_VARIANT": "arm"}
    run = v.run_cmake_stub(app / "CMakeLists.txt", config, "nucleo_l476rg", tmp_path)
    model_dir = app / "model"
    inputs = [model_dir / "model.onnx", model_dir / "test_inputs.npz", model_dir]
    v.check_configure_depends(run, [*inputs, *tool_inputs()])
    record = json.loads((tmp_path / "tinytx_generated" / "tinytx-model.json").read_text())
    assert record["options"]["board"] == "nucleo_l476rg"
    assert record["options"]["kernels"] == "arm"


@needs_cmake
@pytest.mark.parametrize(
    "old, new, missing",
    [
        ("    tinytx_configure_depends(${arg_MODEL} ${model_dir}/calibration.npz\n"
         "                             ${model_dir}/test_inputs.npz ${model_dir})\n", "",
         "model.onnx"),
        ("  _tinytx_tool_depends()\n", "", "project.py"),
    ],
)  # fmt: skip
def test_conversion_depends_broken_copies_fail(tmp_path, old, new, missing):
    root = shadow_tree(tmp_path, "module/ports")
    helper = root / "module" / "ports" / "zephyr" / "cmake" / "tinytx_app.cmake"
    broken = broken_copy(tmp_path, helper, old, new)
    shutil.copy(broken, helper)
    app = root / "samples" / "ecg"
    config = {"TINYTX": "y", "TINYTX_KERNEL_VARIANT": "arm"}
    module = root / "module" / "CMakeLists.txt"
    run = v.run_cmake_stub(app / "CMakeLists.txt", config, "nucleo_l476rg", tmp_path / "b",
                           module=module)  # fmt: skip
    model_dir = app / "model"
    required = [model_dir / "model.onnx", root / "scripts/tinytx/core/codegen/project.py"]
    with pytest.raises(v.ZephyrCheckError, match=missing):
        v.check_configure_depends(run, required)


@needs_cmake
@pytest.mark.parametrize("variant", ["ref", "arm"])
def test_module_cmake_sources(tmp_path, variant):
    config = {
        "TINYTX": "y",
        "TINYTX_KERNEL_VARIANT": variant,
        "TINYTX_PROFILING": "y",
        "TINYTX_WEIGHTS_IMAGE": "y",
    }
    run = v.run_cmake_stub(None, config, "nucleo_h743zi", tmp_path)
    lib = v.library_sources(run)
    arm = [p for p in lib if "/kernels/src/arm/" in str(p)]
    assert bool(arm) == (variant == "arm")
    names = {p.name for p in lib}
    assert {"tinytx_port_zephyr.c", "tinytx_port_parallel.c", "tinytx_port_crc32.c"} <= names
    assert ("TINYTX_PROFILING=1",) in run.args_of("zephyr_compile_definitions")
    assert run.args_of("zephyr_library_named") == [("tinytx",)]
    off = v.run_cmake_stub(None, {"TINYTX_KERNEL_VARIANT": variant}, "x", tmp_path / "off")
    assert not off.args_of("zephyr_library_sources"), "CONFIG_TINYTX=n must build nothing"
    table = ("TINYTX_ARM_EXP_TABLE=1",)
    assert table not in run.args_of("zephyr_library_compile_definitions")  # default n
    config["TINYTX_ARM_EXP_TABLE"] = "y"
    on = v.run_cmake_stub(None, config, "nucleo_h743zi", tmp_path / "table")
    assert table in on.args_of("zephyr_library_compile_definitions")


@needs_cmake
@pytest.mark.parametrize(
    "old, new, message",
    [
        ("  zephyr_library_named(tinytx)\n", "  zephyr_library_named(tinytx\n", "Parse error"),
        ("${CONFIG_TINYTX_KERNEL_VARIANT}", "dsp", "unknown kernel variant 'dsp'"),
        ("module/ports/zephyr/sources.cmake", "module/ports/zephyr/source.cmake", "source.cmake"),
    ],
)
def test_module_cmake_broken_copies_fail(tmp_path, old, new, message):
    root = shadow_tree(tmp_path, "module/CMakeLists.txt")
    broken = broken_copy(tmp_path, REPO_ROOT / "module" / "CMakeLists.txt", old, new)
    shutil.copy(broken, root / "module" / "CMakeLists.txt")
    config = {"TINYTX": "y", "TINYTX_KERNEL_VARIANT": "arm"}
    with pytest.raises(v.ZephyrCheckError, match=message):
        v.run_cmake_stub(
            None, config, "x", tmp_path / "b", module=root / "module" / "CMakeLists.txt"
        )


# --- board overlays --------------------------------------------------------------------

OVERLAYS = sorted((REPO_ROOT / "boards" / "zephyr").glob("*.overlay"))


@pytest.mark.parametrize("path", OVERLAYS, ids=lambda p: p.name)
def test_overlay_partition_matches_boards_yaml(path):
    v.check_overlay(path, get_board(path.stem))


def test_overlays_cover_the_nucleo_boards():
    assert {p.stem for p in OVERLAYS} == {"nucleo_l476rg", "nucleo_h743zi"}


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("reg = <0x001e0000 0x00020000>", "reg = <0x001e0000 0x00040000>", "boards.yaml says"),
        ("partition@1e0000", "partition@1c0000", "unit address"),
        ('label = "tinytx_weights";', 'label = "weights";', "no single partition"),
        ("\t\t};\n\t};\n};", "\t\t};\n\t};\n", "unbalanced"),
    ],
)
def test_overlay_broken_copies_fail(tmp_path, old, new, message):
    path = broken_copy(
        tmp_path, REPO_ROOT / "boards" / "zephyr" / "nucleo_h743zi.overlay", old, new
    )
    with pytest.raises(v.ZephyrCheckError, match=message):
        v.check_overlay(path, get_board("nucleo_h743zi"))


# --- flash load region: the firmware stays out of the weights partition ----------------

BOARD_CONFS = sorted(BOARD_FILES.glob("*.conf"))


def test_every_board_with_an_overlay_has_a_fragment():
    assert {p.stem for p in BOARD_CONFS} == {p.stem for p in OVERLAYS}


@pytest.mark.parametrize("conf", BOARD_CONFS, ids=lambda p: p.name)
def test_flash_load_region_ends_at_the_weights_partition(conf):
    board = get_board(conf.stem)
    offset, size = v.check_flash_load(conf, conf.with_suffix(".overlay"), board)
    # The emulated profile of the same board links its firmware into the same region.
    (emulated,) = [b for b in load_boards().values() if b.emulates == conf.stem]
    link = yaml.safe_load(BOARDS_YAML.read_text())["boards"][emulated.name]["link"]
    assert (offset, size) == (0, link["flash_size"])
    # Zephyr takes the values (they are prompted while no code partition is used).
    kconf = module_kconfig(conf.stem)
    v.apply_fragments(kconf, [conf], conf.stem)
    assert int(kconf.syms["FLASH_LOAD_SIZE"].str_value, 16) == size


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("CONFIG_FLASH_LOAD_SIZE=0x1E0000\n", "", "no CONFIG_FLASH_LOAD_SIZE"),
        ("CONFIG_FLASH_LOAD_SIZE=0x1E0000", "CONFIG_FLASH_LOAD_SIZE=0x200000", "must end there"),
        ("CONFIG_FLASH_LOAD_SIZE=0x1E0000", "CONFIG_FLASH_LOAD_SIZE=0", "the whole flash"),
        (
            "CONFIG_FLASH_LOAD_SIZE=0x1E0000",
            "CONFIG_FLASH_LOAD_OFFSET=0x20000\nCONFIG_FLASH_LOAD_SIZE=0x1E0000",
            "must end there",
        ),
    ],
)
def test_flash_load_broken_copies_fail(tmp_path, old, new, message):
    conf = broken_copy(tmp_path, BOARD_FILES / "nucleo_h743zi.conf", old, new)
    with pytest.raises(v.ZephyrCheckError, match=message):
        v.check_flash_load(conf, BOARD_FILES / "nucleo_h743zi.overlay", get_board("nucleo_h743zi"))


def test_flash_load_overlay_moved_without_the_fragment_fails(tmp_path):
    overlay = broken_copy(
        tmp_path, BOARD_FILES / "nucleo_h743zi.overlay", "partition@1e0000", "partition@1c0000"
    )
    overlay.write_text(overlay.read_text().replace("<0x001e0000", "<0x001c0000"))
    with pytest.raises(v.ZephyrCheckError, match=r"is not boards\.yaml's"):
        v.check_flash_load(BOARD_FILES / "nucleo_h743zi.conf", overlay, get_board("nucleo_h743zi"))


def test_flash_load_size_is_not_settable_with_a_code_partition():
    """With MCUboot (USE_DT_CODE_PARTITION) the code partition sizes the image and the
    fragment's value does not stick: Zephyr warns, and so does this check."""
    kconf = module_kconfig("nucleo_h743zi")
    v.apply_fragments(kconf, ["CONFIG_USE_DT_CODE_PARTITION=y"], "m7")
    with pytest.raises(v.ZephyrCheckError, match="FLASH_LOAD_SIZE was assigned '0x1E0000'"):
        v.apply_fragments(kconf, [BOARD_FILES / "nucleo_h743zi.conf"], "m7")


# --- twister's ztest scanner -----------------------------------------------------------

ZTEST_FILE = REPO_ROOT / "tests" / "kernels" / "zephyr" / "src" / "ztest_kernels.c"


def declared_test_bodies() -> list[str]:
    header = (REPO_ROOT / "tests" / "kernels" / "src" / "tt_case.h").read_text()
    return re.findall(r"^void tt_test_(\w+)\(", header, re.M)


def test_twister_sees_every_kernel_test():
    kernels = declared_test_bodies()
    assert len(kernels) > 10
    names = v.check_ztest_file(ZTEST_FILE, [*kernels, "vectors_covered", "validation"])
    assert sorted(names) == sorted([*kernels, "vectors_covered", "validation"])


def test_scanner_reads_a_ztest_in_a_macro_body_as_an_empty_name(tmp_path):
    """Zephyr's pattern on the form this file had: the macro body's ZTEST line is one
    test case named "" (test_##kernel minus test_), the real ones are not seen."""
    path = tmp_path / "macro.c"
    path.write_text(
        "#define TT_KERNEL_ZTEST(kernel, id) \\\n"
        "\tZTEST(tinytx_kernels, test_##kernel) \\\n"
        "\t{ run_kernel(id, tt_test_##kernel); }\n"
        '#include "tt_kernel_ztests.inc"\n'
    )
    assert v.twister_ztest_names(path) == [""]
    with pytest.raises(v.ZephyrCheckError, match="indented ZTEST"):
        v.check_ztest_file(path, ["linear"])


LUT_ZTEST = "ZTEST(tinytx_kernels, test_lut)\n{\n\trun_kernel(TT_KERNEL_LUT, tt_test_lut);\n}\n"


@pytest.mark.parametrize(
    "old, new, message",
    [
        (LUT_ZTEST, "", "finds no test case for lut"),
        (LUT_ZTEST, "#define LUT_TEST(k) \\\n\tZTEST(tinytx_kernels, test_##k) {}\nLUT_TEST(lut)\n",
         "indented ZTEST"),
        ("ZTEST(tinytx_kernels, test_av)", "ZTEST(tinytx_kernels, av)", "without the test_ prefix"),
        ("ZTEST(tinytx_kernels, test_av)", "ZTEST(tinytx_kernels, test_add)", "duplicate"),
    ],
)  # fmt: skip
def test_ztest_broken_copies_fail(tmp_path, old, new, message):
    path = broken_copy(tmp_path, ZTEST_FILE, old, new)
    with pytest.raises(v.ZephyrCheckError, match=message):
        v.check_ztest_file(path, [*declared_test_bodies(), "vectors_covered", "validation"])


# --- the weights partition's CPU address (module/ports/zephyr) -------------------------

PORT_HEADER = REPO_ROOT / "module" / "ports" / "zephyr" / "include" / "tinytx_port" / "zephyr.h"

# A stand-in <zephyr/devicetree.h> for a devicetree whose partitions node has a `ranges`
# property: the devicetree generator then translates the partition's reg into the parent
# address space, so DT_REG_ADDR(partition) is the absolute 0x081E0000 and flash base +
# partition reg counts the base twice. DT_FIXED_PARTITION_ADDR stands for whatever
# Zephyr's API gives for it (here: the right address).
RANGES_DEVICETREE = """\
#define DT_CAT(a, b) DT_CAT_(a, b)
#define DT_CAT_(a, b) a##b
#define DT_NODELABEL(label) DT_CAT(DT_N_, label)
#define DT_REG_ADDR(node) DT_CAT(node, _REG_ADDR)
#define DT_REG_SIZE(node) DT_CAT(node, _REG_SIZE)
#define DT_GPARENT(node) DT_CAT(node, _GPARENT)
#define DT_FIXED_PARTITION_ADDR(node) DT_CAT(node, _FIXED_PARTITION_ADDR)
#define DT_N_tinytx_weights_partition_REG_ADDR 0x081E0000u
#define DT_N_tinytx_weights_partition_REG_SIZE 0x20000u
#define DT_N_tinytx_weights_partition_GPARENT DT_N_flash0
#define DT_N_tinytx_weights_partition_FIXED_PARTITION_ADDR 0x081E0000u
#define DT_N_flash0_REG_ADDR 0x08000000u
"""

WEIGHTS_PROGRAM = """\
#include <stdio.h>
#include "tinytx_port/zephyr.h"
int main(void)
{
    printf("%#lx %#lx\\n", (unsigned long)TINYTX_WEIGHTS_PARTITION_ADDR,
           (unsigned long)TINYTX_WEIGHTS_PARTITION_SIZE);
    return 0;
}
"""


def weights_partition_macros(tmp_path: Path, header: Path) -> str:
    """What TINYTX_WEIGHTS_PARTITION_ADDR / _SIZE of ``header`` evaluate to over the
    stand-in devicetree (with the fixtures' other Zephyr stand-ins)."""
    include = tmp_path / "include"
    (include / "zephyr").mkdir(parents=True)
    (include / "zephyr" / "devicetree.h").write_text(RANGES_DEVICETREE)
    (include / "tinytx_port").mkdir()
    shutil.copy(header, include / "tinytx_port" / "zephyr.h")
    source = tmp_path / "weights.c"
    source.write_text(WEIGHTS_PROGRAM)
    program = tmp_path / "weights"
    fixtures = Path(v.__file__).parent / "include"
    cmd = ["gcc", "-std=c99", "-Wall", "-Werror", "-DCONFIG_TINYTX_WEIGHTS_PARTITION=1"]
    cmd += [f"-I{include}", f"-I{fixtures}", str(source), "-o", str(program)]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return subprocess.run([str(program)], check=True, capture_output=True, text=True).stdout


needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")


@needs_gcc
def test_weights_partition_address_comes_from_zephyrs_api(tmp_path):
    assert weights_partition_macros(tmp_path, PORT_HEADER).split() == ["0x81e0000", "0x20000"]


@needs_gcc
def test_weights_partition_address_by_hand_is_wrong_with_ranges(tmp_path):
    """The former header's arithmetic (flash base + the partition's reg) on the same
    devicetree: the base counted twice."""
    header = broken_copy(
        tmp_path,
        PORT_HEADER,
        "DT_FIXED_PARTITION_ADDR(TINYTX_PORT_WEIGHTS_NODE)",
        "(DT_REG_ADDR(DT_GPARENT(TINYTX_PORT_WEIGHTS_NODE)) + "
        "DT_REG_ADDR(TINYTX_PORT_WEIGHTS_NODE))",
    )
    assert weights_partition_macros(tmp_path, header).split()[0] == "0x101e0000"


# --- `tinytx build`: Kconfig values do not outlive the run that gave them --------------


def former_cmake_args(options: ZephyrBuildOptions) -> list[str]:
    """What `tinytx build` passed before: only the options given, nothing to undo them."""
    args = []
    if options.kernels:
        args.append(f"-D{KERNEL_SYMBOLS[options.kernels]}=y")
    if options.weights_partition:
        args.append("-DCONFIG_TINYTX_WEIGHTS_PARTITION=y")
    return args


BUILD_SEQUENCE = [
    ZephyrBuildOptions(kernels="ref", weights_partition=True),
    ZephyrBuildOptions(kernels=None, weights_partition=False),
    ZephyrBuildOptions(kernels="arm", weights_partition=False, shape="B"),
    ZephyrBuildOptions(kernels="arm", weights_partition=False),
]


def test_each_tinytx_build_run_applies_only_its_own_options(tmp_path):
    """Four `tinytx build` runs in one build directory, as Zephyr's kconfig.cmake sees
    their -DCONFIG_... (cached values re-applied): each configures as if alone."""
    build_dir = tmp_path / "mhsa_bench-nucleo_h743zi"
    runs = []
    for options in BUILD_SEQUENCE:
        pristine = prepare_build_dir(build_dir, options, "nucleo_h743zi")
        runs.append((options.cmake_args(), pristine))
        (build_dir / "CMakeCache.txt").write_text("# stand-in of a configured build\n")
    v.check_cli_kconfig_runs(runs)
    # The shape given and then dropped (a string: no value undoes it) empties the directory.
    assert [pristine for _, pristine in runs] == [False, False, False, True]
    # What Kconfig makes of the second run's arguments: the board's defaults.
    (scenario,) = [s for s in v.check_twister_yaml(SAMPLE_YAML) if s.name.endswith("mhsa_bench")]
    kconf = v.app_configuration(SAMPLE, scenario, "nucleo_h743zi")
    assigned = [a[2:] for a in runs[1][0] if a.startswith("-DCONFIG_")]
    v.apply_fragments(kconf, assigned, "tinytx build run 2")
    assert kconf.syms["TINYTX_KERNEL_VARIANT"].str_value == "arm"
    assert kconf.syms["TINYTX_WEIGHTS_PARTITION"].str_value == "n"
    v.apply_fragments(kconf, [a[2:] for a in runs[0][0] if a.startswith("-DCONFIG_")], "run 1")
    assert kconf.syms["TINYTX_KERNEL_VARIANT"].str_value == "ref"


def test_former_tinytx_build_arguments_leave_old_options_in_the_cache():
    runs = [(former_cmake_args(options), False) for options in BUILD_SEQUENCE[:2]]
    with pytest.raises(v.ZephyrCheckError, match="CONFIG_TINYTX_KERNELS_REF=y"):
        v.check_cli_kconfig_runs(runs)


def test_a_build_directory_of_unknown_options_is_emptied(tmp_path):
    build_dir = tmp_path / "b"
    build_dir.mkdir()
    (build_dir / "CMakeCache.txt").write_text("CLI_CONFIG_TINYTX_KERNELS_REF:INTERNAL=y\n")
    options = ZephyrBuildOptions(kernels=None, weights_partition=False)
    assert prepare_build_dir(build_dir, options, "nucleo_h743zi")
    assert not (build_dir / "CMakeCache.txt").exists()
    assert not prepare_build_dir(build_dir, options, "nucleo_h743zi")
    assert prepare_build_dir(build_dir, options, "nucleo_l476rg")
    # A directory that is no build is left alone.
    other = tmp_path / "notes"
    other.mkdir()
    (other / "todo.txt").write_text("keep me\n")
    with pytest.raises(ValueError, match="holds no build"):
        prepare_build_dir(other, options, "nucleo_h743zi")
    assert (other / "todo.txt").is_file()
