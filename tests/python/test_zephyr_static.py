"""The Zephyr side of tinytx, checked without Zephyr (CI cannot install it).

Every validator of tests/python/zephyr_fixtures/zephyr_validators.py runs on the real files
and on deliberately broken copies, which must fail: west.yml (west's parser), module.yml
and every sample.yaml / testcase.yaml (pykwalify with Zephyr's schemas), module/Kconfig
and each application's Kconfig and .conf fragments (kconfiglib, per board), every
application's CMakeLists.txt and module/CMakeLists.txt (CMake, Zephyr stubbed), and the
board overlays (against boards/boards.yaml). The applications and twister files are
discovered, so samples added later are checked the same way.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

pytest.importorskip("west", reason="west is not installed (pip install -e '.[dev]')")
pytest.importorskip("pykwalify", reason="pykwalify is not installed (pip install -e '.[dev]')")
pytest.importorskip("kconfiglib", reason="kconfiglib is not installed (pip install -e '.[dev]')")

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent / "zephyr_fixtures"))

import zephyr_validators as v  # noqa: E402

from tinytx.core.boards import get_board  # noqa: E402

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


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("board_root: .", "board-root: .", "board-root"),
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


SAMPLE_YAML = REPO_ROOT / "samples" / "mhsa_bench" / "sample.yaml"


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
    overlay = REPO_ROOT / "boards" / "zephyr" / f"{board}.overlay"
    added = [a for args in run.args_of("EXTRA_DTC_OVERLAY_FILE") for a in args]
    assert added == ([str(overlay)] if overlay.is_file() else [])
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
include(${CMAKE_CURRENT_LIST_DIR}/../../module/ports/zephyr/cmake/tinytx_app.cmake)
tinytx_board_files()
find_package(Zephyr REQUIRED HINTS $ENV{ZEPHYR_BASE})
project(tiny_model)
tinytx_model_sample()
"""


@needs_cmake
def test_model_sample_helper_collects_its_sources(tmp_path):
    """tinytx_model_sample(), what radar/eeg/ecg's CMakeLists.txt call: the sample's own
    sources, samples/common's and the converted model's (here a stand-in directory, as
    `tinytx build` passes after converting)."""
    root = shadow_tree(tmp_path, "samples/mhsa_bench")
    app = root / "samples" / "tiny_model"
    (app / "src").mkdir(parents=True)
    (app / "src" / "main.c").write_text('const char tinytx_sample_name[] = "tiny_model";\n')
    (app / "CMakeLists.txt").write_text(MODEL_SAMPLE_CMAKE)
    generated = tmp_path / "converted"
    generated.mkdir()
    for name in ("model.c", "test_data.c"):
        (generated / name).write_text("/* converted */\n")
    config = {"TINYTX": "y", "TINYTX_KERNEL_VARIANT": "arm"}
    run = v.run_cmake_stub(
        app / "CMakeLists.txt", config, "nucleo_l476rg", tmp_path / "b",
        defines={"TINYTX_GENERATED_DIR": str(generated)},
    )  # fmt: skip
    names = {p.name for p in v.app_sources(run, app)}
    common = {p.name for p in (REPO_ROOT / "samples" / "common" / "src").glob("*.c")}
    assert names == {"main.c", "model.c", "test_data.c"} | common
    includes = [a for args in run.args_of("target_include_directories") for a in args]
    assert str(generated) in includes


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
