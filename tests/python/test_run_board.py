"""``tinytx run --board``: a real board runs its emulated profile and says so; a board
without one, and options that contradict each other, are refused with one line (exit 2)
before any conversion, build or emulation; the samples' status names come from the C.

No firmware here: ``emulate`` is replaced by a stand-in that records what it was asked
to run (``tests/python/test_samples.py`` runs ``tinytx run radar --board nucleo_l476rg``
on QEMU).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tinytx.cli import main
from tinytx.cli.exitcodes import ExitCode
from tinytx.core.boards import emulated_profile, load_boards
from tinytx.core.codegen.model import ERR_CORES
from tinytx.core.errors import TinytxError, UserInputError
from tinytx.core.kernel_abi import kernel_abi
from tinytx.core.resources import kernels_dir, samples_dir
from tinytx.toolchain import firmware

COMMON = samples_dir() / "common"


@dataclass
class Calls:
    """What the stand-in ``emulate`` was asked to run."""

    runs: list[tuple[str, str, str | None]] = field(default_factory=list)


class Stop(TinytxError):
    """Ends the command where the firmware work would start."""


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Calls:
    got = Calls()

    def fake(source, target, kernels, build_root, **_):
        got.runs.append((target.name, kernels, source.options.board))
        raise Stop("stand-in emulate: stopped before the firmware")

    monkeypatch.setattr(firmware, "emulate", fake)
    return got


def run_cli(capsys: pytest.CaptureFixture[str], tmp_path: Path, *argv: str):
    code = main(["run", "radar", *argv, "--build-dir", str(tmp_path / "build")])
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def test_every_real_board_with_a_profile_resolves_to_it() -> None:
    boards = load_boards()
    profiles = {b.emulates: b.name for b in boards.values() if b.target and b.emulates}
    assert profiles == {"nucleo_l476rg": "nucleo_l476rg_emu", "nucleo_h743zi": "nucleo_h743zi_emu"}
    for real, emu in profiles.items():
        assert emulated_profile(real).name == emu
        assert emulated_profile(emu).name == emu  # the profile names keep working


@pytest.mark.parametrize(("board", "target"), [("nucleo_l476rg", "m4"), ("nucleo_h743zi", "m7")])
def test_a_real_board_runs_its_emulated_profile_and_says_so(
    board: str, target: str, calls: Calls, capsys, tmp_path: Path
) -> None:
    code, out, err = run_cli(capsys, tmp_path, "--board", board)
    assert code == ExitCode.USAGE and "stand-in emulate" in err  # reached the firmware step
    assert calls.runs == [(target, "arm", f"{board}_emu")]
    (line,) = [ln for ln in err.splitlines() if ln.startswith(f"{board}:")]
    assert "no runner for an attached board" in line
    assert f"running its emulated profile {board}_emu on QEMU" in line
    assert out == ""


@pytest.mark.parametrize(
    "argv",
    [
        ["--board", "nucleo_l476rg_emu"],  # the profile itself: no "runs its profile" line
        ["--board", "nucleo_l476rg_emu", "--emulate"],  # --emulate: accepted, the same
        ["--board", "nucleo_l476rg", "--target", "m4"],  # --target agrees with the board
    ],
)
def test_equivalent_spellings_run_the_same(argv, calls: Calls, capsys, tmp_path: Path) -> None:
    code, _, err = run_cli(capsys, tmp_path, *argv)
    assert code == ExitCode.USAGE and "stand-in emulate" in err
    assert calls.runs == [("m4", "arm", "nucleo_l476rg_emu")]
    said = any(ln.startswith("nucleo_l476rg: ") for ln in err.splitlines())
    assert said == (argv[1] == "nucleo_l476rg")


@pytest.mark.parametrize(
    ("argv", "expect"),
    [
        (
            ["--board", "gap9"],
            r"gap9 has no emulated profile .* nucleo_l476rg \(nucleo_l476rg_emu\)",
        ),
        (["--board", "nucleo_l476rg", "--target", "rv32"], r"--target rv32 conflicts with --board"),
        (
            ["--board", "nucleo_h743zi_emu", "--target", "m4"],
            r"profile nucleo_h743zi_emu runs on m7",
        ),
        (["--board", "nucleo_l476rg", "--cores", "2"], r"--cores: target m4 runs one core"),
        (["--target", "rv32x8", "--cores", "9"], r"--cores: target rv32x8 runs 1\.\.8 cores"),
        (["--target", "rv32", "--profile"], r"--profile: unicorn counts Cortex-M only"),
        (["--target", "rv32", "--profile-json", "p.json"], r"--profile: unicorn counts Cortex-M"),
        (["--board", "nucleo_l476rg", "--kernels", "riscv"], r"kernels: target m4 builds"),
        (["--board", "nosuchboard"], r"unknown board 'nosuchboard'"),
        ([], r"--board: give a board \(e\.g\. nucleo_l476rg\) or an emulated target"),
        (["--target", "host"], r"--target: host is not an emulated target"),
    ],
)
def test_refused_before_any_work(argv, expect: str, calls: Calls, capsys, tmp_path: Path) -> None:
    code, out, err = run_cli(capsys, tmp_path, *argv)
    assert code == ExitCode.USAGE
    assert calls.runs == [] and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tinytx run: error: "), err
    assert re.search(expect, lines[0]), lines[0]
    assert not (tmp_path / "build" / "run").exists()  # nothing converted or built


def test_an_unknown_sample_is_one_line(calls: Calls, capsys, tmp_path: Path) -> None:
    code = main(["run", "nosuchsample", "--board", "nucleo_l476rg", "--build-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == ExitCode.USAGE and calls.runs == []
    assert "not a sample" in err and len(err.strip().splitlines()) == 1


def test_help_says_there_is_no_board_runner(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["run", "--help"])
    assert exc.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "no runner for an attached board" in text
    assert "a real board (nucleo_l476rg) runs its emulated profile" in text


def test_the_samples_error_cores_is_the_models() -> None:
    header = (COMMON / "include" / "tinytx_sample.h").read_text()
    (value,) = re.findall(r"#define TINYTX_SAMPLE_ERR_CORES \((-?\d+)\)", header)
    assert int(value) == ERR_CORES


def test_status_names_are_the_kernel_enum(tmp_path: Path) -> None:
    """The samples' tinytx_status_name, compiled for the host, names every status of the
    kernels' enum as the kernel ABI does, the models' cores status, and no other."""
    main_c = tmp_path / "main.c"
    main_c.write_text(
        '#include <stdio.h>\n#include "tinytx_sample.h"\n'
        'const char tinytx_sample_name[] = "t";\n'
        "int main(void)\n{\n"
        "\tfor (int s = -20; s <= 2; s++) {\n"
        '\t\tprintf("%d %s\\n", s, tinytx_status_name(s));\n'
        "\t}\n\treturn 0;\n}\n"
    )
    exe = tmp_path / "names"
    cmd = ["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror",
           "-I", str(COMMON / "include"), "-I", str(kernels_dir() / "include"),
           str(COMMON / "src" / "tinytx_sample.c"), str(main_c), "-o", str(exe)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    printed = dict(
        ln.split(" ", 1) for ln in subprocess.check_output([exe], text=True).splitlines()
    )
    abi = kernel_abi("ref")
    for status, name in printed.items():
        value = int(status)
        if value == ERR_CORES:
            assert name == "TINYTX_<NAME>_ERR_CORES"
        else:
            want = abi.status_name(value)
            assert name == (want if want.startswith("TINYTX_") else "unknown status"), value
    assert printed["-2"] == "TINYTX_ERR_DIMS" and printed["0"] == "TINYTX_OK"
    assert firmware.status_name(-4) == "TINYTX_ERR_SCRATCH"
    assert firmware.status_name(ERR_CORES) == printed[str(ERR_CORES)]


def test_user_input_error_is_the_refusal_type() -> None:
    with pytest.raises(UserInputError, match="no emulated profile"):
        emulated_profile("gap9")


def test_demo_takes_the_real_board_too(monkeypatch, capsys):
    """``tinytx demo --board nucleo_h743zi`` runs the profile that emulates it; a board
    without one is one line, exit 2, before anything is built."""
    from tinytx.toolchain import demo

    asked: list[str | None] = []

    def stand_in(sample, board, *args, **kwargs):
        asked.append(board)
        return 0

    monkeypatch.setattr(demo, "run_sample_demo", stand_in)
    assert main(["demo", "--sample", "radar", "--board", "nucleo_h743zi"]) == 0
    assert asked == ["nucleo_h743zi_emu"]
    assert main(["demo", "--sample", "radar", "--board", "gap9"]) == ExitCode.USAGE
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "gap9 has no emulated profile" in err, err
    assert asked == ["nucleo_h743zi_emu"]
