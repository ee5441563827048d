"""`tinytx build`: Zephyr boards through west, emulated profiles on bare metal.

There is no Zephyr here, so the Zephyr path is checked up to the `west build` command
line (a stand-in `west` records it): the workspace is found through ZEPHYR_BASE or
`west topdir`, the options become Kconfig values, a model sample is converted first;
without a workspace the command says so in one line and how to get one. The emulated
path builds and runs mhsa_bench on QEMU for real.
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

from tinytx import cli
from tinytx.core.boards import get_board
from tinytx.core.weights_image import parse_image, read_intel_hex

pytestmark = pytest.mark.firmware

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE = REPO_ROOT / "samples" / "mhsa_bench"

# Records its arguments, ZEPHYR_BASE and cwd as one JSON line per call; answers
# `topdir` with $FAKE_WEST_TOPDIR (or fails when unset) and `build` with $FAKE_WEST_RC.
FAKE_WEST = """#!{python}
import json, os, sys
with open(os.environ["FAKE_WEST_LOG"], "a") as log:
    log.write(json.dumps({{"argv": sys.argv[1:], "zephyr_base": os.environ.get("ZEPHYR_BASE"),
                          "cwd": os.getcwd()}}) + "\\n")
if sys.argv[1:] == ["topdir"]:
    top = os.environ.get("FAKE_WEST_TOPDIR")
    if not top:
        sys.exit("FATAL ERROR: no west workspace found")
    print(top)
    sys.exit(0)
sys.exit(int(os.environ.get("FAKE_WEST_RC", "0")))
"""


def fake_zephyr(root: Path) -> Path:
    """A directory that passes for a Zephyr tree (its CMake package entry point)."""
    (root / "cmake" / "modules").mkdir(parents=True)
    (root / "cmake" / "modules" / "zephyr_default.cmake").write_text("# stand-in\n")
    return root


@pytest.fixture()
def west_env(tmp_path: Path) -> dict[str, str]:
    """An environment whose `west` is the recording stand-in and that has no Zephyr."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    west = bin_dir / "west"
    west.write_text(FAKE_WEST.format(python=sys.executable))
    west.chmod(0o755)
    env = {k: val for k, val in os.environ.items() if k not in ("ZEPHYR_BASE", "FAKE_WEST_TOPDIR")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["FAKE_WEST_LOG"] = str(tmp_path / "west.log")
    return env


def tinytx(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tinytx.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


def west_calls(env: dict[str, str]) -> list[dict]:
    log = Path(env["FAKE_WEST_LOG"])
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_without_a_workspace_it_says_how_to_get_one(tmp_path, west_env):
    result = tinytx(["build", str(SAMPLE), "-b", "nucleo_h743zi"], west_env, tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "no Zephyr workspace found" in lines[0]
    assert "west init -m" in lines[0] and "west update" in lines[0]
    assert "-b nucleo_h743zi_emu" in lines[0]
    assert all(c["argv"] == ["topdir"] for c in west_calls(west_env))


def test_zephyr_base_workspace_runs_west_build(tmp_path, west_env):
    zephyr = fake_zephyr(tmp_path / "ws" / "zephyr")
    west_env["ZEPHYR_BASE"] = str(zephyr)
    args = ["build", "samples/mhsa_bench", "-b", "nucleo_h743zi", "--kernels", "ref"]
    args += ["--weights-image", "--build-dir", str(tmp_path / "out")]
    result = tinytx(args, west_env, REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    (call,) = west_calls(west_env)
    build_dir = tmp_path / "out" / "mhsa_bench-nucleo_h743zi"
    assert call["argv"] == [
        "build", "-b", "nucleo_h743zi", "-d", str(build_dir), "-p", "auto", str(SAMPLE),
        "--", "-DCONFIG_TINYTX_KERNELS_REF=y", "-DCONFIG_TINYTX_WEIGHTS_PARTITION=y",
    ]  # fmt: skip
    assert call["zephyr_base"] == str(zephyr)
    assert "mhsa_bench: no model to convert" in result.stdout
    assert f"flash: west flash -d {build_dir}" in result.stdout
    assert "stm32cubeprogrammer" in result.stdout
    hex_file = build_dir / "tinytx_generated" / "weights.hex"
    assert f"--hex-file {hex_file}" in result.stdout


def test_west_topdir_workspace_and_a_failing_build(tmp_path, west_env):
    top = tmp_path / "ws"
    fake_zephyr(top / "zephyr")
    west_env["FAKE_WEST_TOPDIR"] = str(top)
    west_env["FAKE_WEST_RC"] = "3"
    args = ["build", "mhsa_bench", "-b", "nucleo_l476rg", "--shape", "C", "--seed", "3"]
    args += ["--build-dir", str(tmp_path / "out")]
    result = tinytx(args, west_env, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "west build failed (exit 3)" in result.stdout
    topdir, build = west_calls(west_env)
    assert topdir["argv"] == ["topdir"]
    assert build["argv"][-2:] == ['-DCONFIG_MHSA_BENCH_SHAPE="C"', "-DCONFIG_MHSA_BENCH_SEED=3"]
    assert build["zephyr_base"] == str((top / "zephyr").resolve())
    assert build["cwd"] == str(top)


def test_a_model_sample_is_converted_first(tmp_path, monkeypatch, capsys):
    sample = tmp_path / "radar_like"
    (sample / "src").mkdir(parents=True)
    (sample / "src" / "main.c").write_text("int main(void) { return 0; }\n")
    (sample / "model").mkdir()
    (sample / "model" / "model.onnx").write_bytes(b"not an onnx file")
    monkeypatch.setenv("ZEPHYR_BASE", str(fake_zephyr(tmp_path / "zephyr")))
    code = cli.main(["build", str(sample), "-b", "nucleo_h743zi"])
    err = capsys.readouterr().err
    # the model is converted before west runs: its error stops the build
    assert code == 2
    assert "radar_like/model/model.onnx: not an ONNX model" in err


@pytest.mark.parametrize(
    "args, message",
    [
        (["-b", "gap9"], "GAP9 has no upstream Zephyr support"),
        (["-b", "nucleo_h743zi", "--run"], "--run: only for the emulated profiles"),
        (["-b", "nucleo_h743zi_emu", "--cmake-arg=-DX=1"], "--cmake-arg: only for Zephyr"),
        (["-b", "nucleo_h743zi_emu", "--shape", "Z"], "--shape: 'Z' is not one of A, B, C, D"),
        ([], "give the board"),
    ],
)
def test_bad_requests_are_one_line_errors(capsys, args, message):
    assert cli.main(["build", "mhsa_bench", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err


def test_unknown_sample(capsys):
    assert cli.main(["build", "samples/no_such_sample", "-b", "nucleo_h743zi"]) == 2
    assert "sample samples/no_such_sample: no such directory" in capsys.readouterr().err


def test_generate_only_writes_the_data_and_weight_image(tmp_path, capsys):
    out = tmp_path / "gen"
    args = ["build", "mhsa_bench", "--generate-only", str(out), "-b", "nucleo_l476rg"]
    assert cli.main([*args, "--weights-image"]) == 0
    # The board's default shape comes from samples/mhsa_bench/boards/nucleo_l476rg.conf.
    assert "shape B" in capsys.readouterr().out
    header = (out / "mhsa_bench_data.h").read_text()
    assert "#define MHSA_BENCH_S 66" in header and "WEIGHTS_PAYLOAD_BYTES" in header
    address, image = read_intel_hex(out / "weights.hex")
    part = get_board("nucleo_l476rg").weights_partition
    assert address == part.address and len(image) <= part.size
    assert parse_image(image)[0].payload_bytes > 0


@pytest.mark.skipif(
    shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
    reason="arm-none-eabi-gcc and qemu-system-arm are needed",
)
def test_emulated_profile_builds_and_runs(build_root, capsys):
    args = ["build", "mhsa_bench", "-b", "nucleo_h743zi_emu", "--run", "--kernels", "ref"]
    assert cli.main([*args, "--build-dir", str(build_root / "tinytx-build")]) == 0
    out = capsys.readouterr().out
    assert "board nucleo_h743zi_emu:" in out and ": fits" in out
    # The console harness of samples/mhsa_bench/sample.yaml accepts the same firmware's
    # output (the bare-metal build prints no cycle line: QEMU counts no cycles).
    console = out.split("--- QEMU console")[1]
    for rx in ("mhsa_bench: S=81 E=32 H=8 P=32, arena \\d+ bytes", "MATCH: 2592 outputs"):
        assert re.search(rx, console), console
    assert "exit code: 0" in out
