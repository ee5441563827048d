"""The model samples (radar, eeg, ecg) as Zephyr applications, checked without Zephyr.

For each sample with a model and a sample.yaml:

- the per-input regexes of its sample.yaml name the labels of the committed test
  inputs (model/test_inputs.npz) by the class names of model/metrics.json;
- its emulated profile (`tinytx build samples/<name> -b nucleo_l476rg_emu --run`: the
  same src/main.c and samples/common, bare metal on QEMU Cortex-M4 with the DSP
  kernels) prints what every scenario's console harness expects, line by line in
  order as twister reads it, MATCH included. It has no cycle counter, so it prints no
  cycle figure;
- its Zephyr build's C code (what its CMakeLists.txt compiles, the model converted for
  nucleo_l476rg as the ref_kernels scenario configures it, the tinytx library with
  CONFIG_TINYTX_PROFILING) on the host over the Zephyr stand-ins: the console harness
  passes too, and the record regex gives one record per test input with its class and
  a cycle count.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.firmware

pytest.importorskip("kconfiglib", reason="kconfiglib is not installed (pip install -e '.[dev]')")
pytest.importorskip("pykwalify", reason="pykwalify is not installed (pip install -e '.[dev]')")

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent / "zephyr_fixtures"))

import zephyr_validators as v  # noqa: E402
from zephyr_host import build_app_on_host, configure, match_console, run_host  # noqa: E402

from tinytx import cli  # noqa: E402
from tinytx.core.targets import get_target  # noqa: E402

EMULATED_BOARD = "nucleo_l476rg_emu"
HOST_BOARD = "nucleo_l476rg"
INPUT_REGEX = re.compile(r"^input (\d+): class (\d+) (\S+) expected \2 \3 MATCH$")


def model_samples() -> list[str]:
    return sorted(
        p.parent.name
        for p in (REPO_ROOT / "samples").glob("*/sample.yaml")
        if (p.parent / "model" / "model.onnx").is_file()
    )


def scenarios(name: str) -> list[v.Scenario]:
    return v.check_twister_yaml(REPO_ROOT / "samples" / name / "sample.yaml")


def committed_classes(name: str) -> list[tuple[int, str]]:
    """(class, name) of each committed test input: its label and the label's name."""
    model = REPO_ROOT / "samples" / name / "model"
    labels = np.load(model / "test_inputs.npz")["labels"]
    names = json.loads((model / "metrics.json").read_text())["classes"]
    return [(int(c), names[int(c)]) for c in labels]


def test_the_model_samples_are_zephyr_apps():
    assert {"radar", "eeg", "ecg"} <= set(model_samples())


@pytest.mark.parametrize("name", model_samples())
def test_sample_yaml_names_the_classes_of_the_test_inputs(name):
    expected = committed_classes(name)
    for sc in scenarios(name):
        assert sc.regexes[0].startswith(f"{name}: {len(expected)} test inputs,"), sc.regexes
        assert sc.regexes[-1] == (
            f"{name}: {len(expected)} of {len(expected)} outputs equal the golden model: MATCH"
        )
        named = [INPUT_REGEX.match(rx) for rx in sc.regexes[1:-1]]
        assert all(named), f"{sc.name}: {sc.regexes[1:-1]}"
        assert [int(m[1]) for m in named] == list(range(len(expected)))
        assert [(int(m[2]), m[3]) for m in named] == expected, sc.name


@pytest.mark.parametrize("name", model_samples())
def test_emulated_build_prints_what_sample_yaml_expects(name, build_root, capsys):
    target = get_target("m4")
    if shutil.which(target.qemu[0]) is None or shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc and qemu-system-arm are needed")
    app = REPO_ROOT / "samples" / name
    argv = ["build", str(app), "-b", EMULATED_BOARD, "--run"]
    code = cli.main([*argv, "--build-dir", str(build_root / "zephyr-samples")])
    out = capsys.readouterr().out
    assert code == 0, out
    console = out.split("--- QEMU console", 1)[1]
    for sc in scenarios(name):
        match_console(sc, console)


@pytest.mark.parametrize("name", model_samples())
def test_zephyr_build_records_cycles_of_each_input(name, tmp_path):
    if shutil.which("cmake") is None or shutil.which("gcc") is None:
        pytest.skip("cmake and gcc are needed")
    app = REPO_ROOT / "samples" / name
    scenario = f"sample.tinytx.{name}.ref_kernels"
    config, run = configure(app, "sample.yaml", scenario, HOST_BOARD, tmp_path)
    assert config["TINYTX_KERNEL_VARIANT"] == "ref" and config["TINYTX_PROFILING"] == "y"
    result = run_host(build_app_on_host(app, config, run, tmp_path / name))
    assert result.returncode == 0, result.stdout + result.stderr
    expected = committed_classes(name)
    for sc in scenarios(name):
        records = match_console(sc, result.stdout)
        assert [r["input"] for r in records] == [str(i) for i in range(len(expected))]
        assert [(int(r["class"]), r["label"]) for r in records] == expected, records
        assert all(int(r["cycles"]) > 0 for r in records), records
    # The same console fails a harness whose inputs are out of order or misclassified.
    inputs = list(sc.regexes[1:-1])
    swapped = [sc.regexes[0], *inputs[::-1], sc.regexes[-1]]
    wrong = [*sc.regexes]
    wrong[1] = wrong[1].replace(f"class {expected[0][0]} ", f"class {expected[1][0] + 1} ", 1)
    for regexes in (swapped, wrong):
        with pytest.raises(v.ZephyrCheckError, match="matches no line"):
            match_console(dataclasses.replace(sc, regexes=tuple(regexes)), result.stdout)
