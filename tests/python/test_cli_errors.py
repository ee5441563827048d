"""Exit codes, one-line errors and outputs that are never half-written, for every command
that writes a file or a directory.

Each case keeps a previous good output and checks that a failed command leaves it byte for
byte as it was. The tests run as root in CI, where permission bits do not stop a write: an
unwritable destination is a path under a regular file, a read-only file (refused by its
mode bits, also for root), or a monkeypatched ``os.replace`` that raises PermissionError.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tinytx.cli import main
from tinytx.cli.exitcodes import ExitCode
from tinytx.core import atomic
from tinytx.core.codegen.project import PROVENANCE
from tinytx.core.errors import DoesNotFit, Mismatch, PathError, TinytxError, UserInputError
from tinytx.core.resources import samples_dir

RADAR = samples_dir() / "radar" / "model" / "model.onnx"
HOST_ELF = Path("/bin/true")


def snapshot(path: Path) -> dict[str, bytes]:
    """Every file under ``path`` (or ``path`` itself) with its bytes."""
    if path.is_file():
        return {path.name: path.read_bytes()}
    return {
        str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()
    }


def no_temporaries(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if ".tmp-" in p.name or ".old-" in p.name]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line(err: str, progress: bool = False) -> str:
    """The one line of an error (warnings printed before it aside; with ``progress``, the
    progress lines of a command that started its work, too): the last line of stderr."""
    lines = [ln for ln in err.strip().splitlines() if ": warning: " not in ln]
    assert "Traceback" not in err
    if progress:
        errors = [ln for ln in lines if ": error: " in ln or ": FAILED: " in ln]
        assert errors == lines[-1:], err
        return lines[-1]
    assert len(lines) == 1, err
    return lines[0]


# --- writers that fail part-way ------------------------------------------------------------


class _HalfThenInterrupt:
    """A file object that writes half of what it is given, then gets Ctrl-C."""

    def __init__(self, f) -> None:
        self._f = f

    def write(self, data):
        self._f.write(data[: len(data) // 2])
        self._f.flush()
        raise KeyboardInterrupt

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self._f.__exit__(*exc)


def interrupt_file_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    # the atomic writer opens its temporary file with the builtin open
    monkeypatch.setattr(
        atomic, "open", lambda *a, **k: _HalfThenInterrupt(open(*a, **k)), raising=False
    )


def interrupt_third_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C while ``tinytx convert`` writes its third file (half of it written)."""
    real = Path.write_text
    calls = []

    def write_text(self: Path, data: str, *args, **kwargs) -> int:
        calls.append(self)
        if len(calls) == 3:
            real(self, data[: len(data) // 2], *args, **kwargs)
            raise KeyboardInterrupt
        return real(self, data, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", write_text)


def deny_replace(monkeypatch: pytest.MonkeyPatch) -> None:
    def replace(src, dst):
        raise PermissionError(13, "Permission denied", str(src), None, str(dst))

    monkeypatch.setattr(atomic.os, "replace", replace)


def interrupt_savefig(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C while matplotlib writes a PNG (a few bytes written)."""
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    def savefig(self, fname, *args, **kwargs) -> None:
        Path(fname).write_bytes(b"\x89PNG half")
        raise KeyboardInterrupt

    monkeypatch.setattr(Figure, "savefig", savefig)


def no_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the bench starts (its options must be refused before)."""

    def boom(*args, **kwargs):
        raise AssertionError("the bench ran although its options are bad")

    import tinytx.toolchain.bench.models as models
    import tinytx.toolchain.bench.run as bench_run

    monkeypatch.setattr(bench_run, "run_bench", boom)
    monkeypatch.setattr(models, "measure_models", boom)


# --- the cases -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    command: Callable[[Path], list[str]]  # tmp -> argv
    expect: str  # in the one stderr line
    code: ExitCode = ExitCode.USAGE
    setup: Callable[[Path], None] = lambda tmp: None
    patch: Callable[[pytest.MonkeyPatch], None] | None = None
    keep: str = "out"  # the previous output (under tmp) that must stay byte-identical
    progress: bool = False  # the command prints progress on stderr before it fails


def convert_to(out: str, model: Path = RADAR) -> Callable[[Path], list[str]]:
    return lambda tmp: ["convert", str(model), "-o", str(tmp / out)]


def run_radar(tmp: Path) -> list[str]:
    board = ["--board", "nucleo_l476rg_emu", "--kernels", "ref"]
    return ["run", str(RADAR), *board, "--emulate", "--build-dir", str(tmp / "build")]


def hex_to(out: str, *extra: str) -> Callable[[Path], list[str]]:
    return lambda tmp: ["weights-hex", "--board", "nucleo_h743zi", "-o", str(tmp / out), *extra]


def bench_json(out: str, *extra: str) -> Callable[[Path], list[str]]:
    return lambda tmp: ["bench", "--shape", "A", "--json", str(tmp / out), *extra]


def report_json(out: str) -> Callable[[Path], list[str]]:
    return lambda tmp: ["report", str(HOST_ELF), "--no-map", "--json", str(tmp / out)]


def a_file(name: str) -> Callable[[Path], None]:
    return lambda tmp: (tmp / name).write_bytes(b"a regular file\n")


def read_only(name: str) -> Callable[[Path], None]:
    return lambda tmp: (tmp / name).chmod(0o444)


def user_dir(tmp: Path) -> None:
    (tmp / "mine").mkdir()
    (tmp / "mine" / "notes.txt").write_text("my own file\n")


CASES = [
    # convert -o DIR
    Case("convert-parent-is-a-file", convert_to("w.hex/dir"), "w.hex is not a directory"),
    Case(
        "convert-file-not-dir",
        convert_to("file"),
        "is a file, expected a directory",
        setup=a_file("file"),
        keep="file",
    ),
    Case(
        "convert-user-directory",
        convert_to("mine"),
        "not a previous tinytx output",
        setup=user_dir,
        keep="mine",
    ),
    Case("convert-permission", convert_to("out"), "Permission denied", patch=deny_replace),
    Case(
        "convert-ctrl-c",
        convert_to("out"),
        "interrupted",
        ExitCode.INTERRUPTED,
        patch=interrupt_third_file,
    ),
    Case(
        "convert-does-not-fit",
        lambda tmp: [
            *convert_to("out")(tmp),
            "--board",
            "nucleo_l476rg_emu",
            "--reserve",
            str(131072 - 200),
        ],
        "does not fit",
        ExitCode.FAILED,
    ),
    # run: the same codes as convert (does not fit: 1), its outputs checked first
    Case(
        "run-does-not-fit",
        lambda tmp: [*run_radar(tmp), "--reserve", "131000"],
        "does not fit nucleo_l476rg_emu",
        ExitCode.FAILED,
        progress=True,
    ),
    Case(
        "run-profile-json-dir",
        lambda tmp: [*run_radar(tmp), "--profile-json", str(tmp / "d")],
        "--profile-json: ",
        setup=lambda tmp: (tmp / "d").mkdir(),
        keep="d",
    ),
    # weights-hex -o FILE
    Case("hex-parent-is-a-file", hex_to("w.hex/w.hex"), "is not a directory"),
    Case(
        "hex-dir-not-file",
        hex_to("d"),
        "is a directory, expected a file",
        setup=lambda tmp: (tmp / "d").mkdir(),
        keep="d",
    ),
    Case(
        "hex-read-only", hex_to("w.hex"), "read-only file", setup=read_only("w.hex"), keep="w.hex"
    ),
    Case("hex-permission", hex_to("w.hex"), "Permission denied", patch=deny_replace, keep="w.hex"),
    Case(
        "hex-ctrl-c",
        hex_to("w.hex"),
        "interrupted",
        ExitCode.INTERRUPTED,
        patch=interrupt_file_writes,
        keep="w.hex",
    ),
    Case(
        "hex-address-range",
        hex_to("w.hex", "--address", "0xFFFFFFF0"),
        "32-bit address space",
        keep="w.hex",
    ),
    # bench --json FILE: refused before the run (no_run fails the test otherwise)
    Case("bench-parent-is-a-file", bench_json("w.hex/b.json"), "is not a directory", patch=no_run),
    Case(
        "bench-dir-not-file",
        bench_json("d"),
        "is a directory, expected a file",
        setup=lambda tmp: (tmp / "d").mkdir(),
        patch=no_run,
        keep="d",
    ),
    Case(
        "bench-read-only",
        bench_json("b.json"),
        "read-only file",
        setup=lambda tmp: ((tmp / "b.json").write_text("{}\n"), read_only("b.json")(tmp)),
        patch=no_run,
        keep="b.json",
    ),
    Case(
        "bench-models-json",
        lambda tmp: ["bench", "--models", "--json", str(tmp / "w.hex/b")],
        "is not a directory",
        patch=no_run,
    ),
    Case(
        "bench-unknown-target",
        bench_json("b.json", "--target", "m9"),
        "unknown target 'm9'",
        patch=no_run,
    ),
    # report --json FILE
    Case("report-parent-is-a-file", report_json("w.hex/r.json"), "is not a directory"),
    Case(
        "report-read-only",
        report_json("r.json"),
        "read-only file",
        setup=lambda tmp: ((tmp / "r.json").write_text("{}\n"), read_only("r.json")(tmp)),
        keep="r.json",
    ),
    Case(
        "report-permission",
        report_json("r.json"),
        "Permission denied",
        setup=lambda tmp: (tmp / "r.json").write_text("{}\n"),
        patch=deny_replace,
        keep="r.json",
    ),
    Case(
        "report-ctrl-c",
        report_json("r.json"),
        "interrupted",
        ExitCode.INTERRUPTED,
        setup=lambda tmp: (tmp / "r.json").write_text("{}\n"),
        patch=interrupt_file_writes,
        keep="r.json",
    ),
    # plan --json FILE, vectors -o FILE
    Case(
        "plan-json-dir",
        lambda tmp: ["plan", "A", "--board", "nucleo_h743zi", "--json", str(tmp / "d")],
        "is a directory, expected a file",
        setup=lambda tmp: (tmp / "d").mkdir(),
        keep="d",
    ),
    Case(
        "plan-plot-ctrl-c",
        lambda tmp: ["plan", "A", "--board", "nucleo_h743zi", "--plot", str(tmp / "p.png")],
        "interrupted",
        ExitCode.INTERRUPTED,
        setup=lambda tmp: (tmp / "p.png").write_bytes(b"\x89PNG previous"),
        patch=interrupt_savefig,
        keep="p.png",
    ),
    Case(
        "vectors-ctrl-c",
        lambda tmp: ["vectors", "-o", str(tmp / "v.bin"), "--cases", "2"],
        "interrupted",
        ExitCode.INTERRUPTED,
        setup=lambda tmp: (tmp / "v.bin").write_bytes(b"TTXV previous"),
        patch=interrupt_file_writes,
        keep="v.bin",
    ),
]


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A previous good output of each command, copied into every case's directory."""
    if not HOST_ELF.is_file():
        pytest.skip(f"no {HOST_ELF} to report on")
    root = tmp_path_factory.mktemp("good")
    assert main(["convert", str(RADAR), "-o", str(root / "out")]) == 0
    assert main(["weights-hex", "--board", "nucleo_h743zi", "-o", str(root / "w.hex")]) == 0
    return root


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_failed_command_is_one_line_and_keeps_the_previous_output(
    case: Case,
    good: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    capsys.readouterr()
    shutil.copytree(good, tmp_path, dirs_exist_ok=True)
    case.setup(tmp_path)
    kept = tmp_path / case.keep
    before = snapshot(kept)
    argv = case.command(tmp_path)
    if case.patch is not None:
        case.patch(monkeypatch)
    code, _, err = run(capsys, *argv)
    monkeypatch.undo()
    line = one_line(err, case.progress)
    assert code == case.code, err
    assert line.startswith(f"tinytx {argv[0]}: "), line
    assert case.expect in line, line
    assert snapshot(kept) == before
    assert no_temporaries(tmp_path) == []
    if kept.is_dir() and case.keep == "out":
        assert no_temporaries(kept) == []


def test_reused_output_directory_holds_only_the_new_model(
    good: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    shutil.copytree(good / "out", out)
    (out / "sample_name.c").write_text("/* written beside a previous conversion */\n")
    assert (out / "test_data.c").is_file()
    bare = tmp_path / "bare.onnx"  # no test_inputs.npz next to it: no test data
    shutil.copy(RADAR, bare)
    code, stdout, err = run(capsys, "convert", str(bare), "-o", str(out))
    assert code == ExitCode.OK, err
    assert sorted(p.name for p in out.iterdir()) == [
        "model.c",
        "model.h",
        "plan.txt",
        PROVENANCE,
    ]
    assert str(bare.resolve()) in (out / PROVENANCE).read_text()
    assert no_temporaries(tmp_path) == []
    assert stdout.splitlines()[-1].startswith(f"wrote {out / 'model.c'}")


def test_empty_directory_and_new_directory_are_accepted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "empty").mkdir()
    for out in (tmp_path / "empty", tmp_path / "new" / "nested"):
        code, _, err = run(capsys, "convert", str(RADAR), "-o", str(out))
        assert code == ExitCode.OK, err
        assert (out / "model.c").is_file() and (out / PROVENANCE).is_file()


def test_existing_output_keeps_its_mode(good: Path, tmp_path: Path) -> None:
    hex_file = tmp_path / "w.hex"
    shutil.copy(good / "w.hex", hex_file)
    hex_file.chmod(0o640)
    assert main(["weights-hex", "--board", "nucleo_h743zi", "-o", str(hex_file)]) == 0
    assert hex_file.stat().st_mode & 0o777 == 0o640


def test_internal_error_prints_the_traceback_and_the_bug_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import tinytx.cli.commands.targets as targets

    def broken(args) -> int:
        raise RuntimeError("an invariant of tinytx does not hold")

    monkeypatch.setattr(targets, "run", broken)
    code, _, err = run(capsys, "targets")
    assert code == ExitCode.INTERNAL == 3
    assert err.startswith("Traceback (most recent call last):")
    assert "RuntimeError: an invariant of tinytx does not hold" in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("tinytx targets: internal error (exit 3): this is a bug in tinytx")
    assert "report it" in last


def test_a_plain_value_error_is_a_bug_not_bad_input(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import tinytx.cli.commands.targets as targets

    def broken(args) -> int:
        raise ValueError("not a user-input error")

    monkeypatch.setattr(targets, "run", broken)
    code, _, err = run(capsys, "targets")
    assert code == ExitCode.INTERNAL
    assert "Traceback" in err


@pytest.mark.parametrize(
    "exc, code, prefix",
    [
        (UserInputError("--x: bad"), ExitCode.USAGE, "tinytx targets: error: --x: bad"),
        (
            PathError("/p/q", "No space left on device", "-o"),
            ExitCode.USAGE,
            "tinytx targets: error: -o: /p/q: No space left on device",
        ),
        (
            TinytxError("arm-none-eabi-gcc not found"),
            ExitCode.USAGE,
            "tinytx targets: error: arm-none-eabi-gcc not found",
        ),
        (
            DoesNotFit("arena 9 > 8 bytes"),
            ExitCode.FAILED,
            "tinytx targets: FAILED: arena 9 > 8 bytes",
        ),
        (Mismatch("output 3 differs"), ExitCode.FAILED, "tinytx targets: FAILED: output 3"),
        (KeyboardInterrupt(), ExitCode.INTERRUPTED, "tinytx targets: error: interrupted"),
        (
            ModuleNotFoundError("No module named 'matplotlib'", name="matplotlib"),
            ExitCode.USAGE,
            "tinytx targets: error: Python module 'matplotlib' is missing",
        ),
        (
            FileNotFoundError(2, "No such file or directory", "/no/such"),
            ExitCode.USAGE,
            "tinytx targets: error: /no/such: No such file or directory",
        ),
    ],
)
def test_exit_code_table(
    exc: BaseException,
    code: ExitCode,
    prefix: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import tinytx.cli.commands.targets as targets

    def raises(args) -> int:
        raise exc

    monkeypatch.setattr(targets, "run", raises)
    got, _, err = run(capsys, "targets")
    assert got == code
    assert one_line(err).startswith(prefix)


def test_exit_codes_are_documented() -> None:
    guide = (Path(__file__).resolve().parents[2] / "docs" / "user-guide.md").read_text()
    for code in ExitCode:
        assert f"| {int(code)} |" in guide, code


def test_no_colour_when_not_a_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "vectors", "-o", "/dev/null/x", "--cases", "1")
    assert code == ExitCode.USAGE
    assert "\x1b[" not in err


def test_die_ends_the_command_with_its_code(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import tinytx.cli.commands.targets as targets
    from tinytx.cli import output

    monkeypatch.setattr(targets, "run", lambda args: output.die(ExitCode.FAILED, "no answer"))
    code, _, err = run(capsys, "targets")
    assert code == ExitCode.FAILED
    assert one_line(err) == "tinytx targets: error: no answer"


def test_colour_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from tinytx.cli import output

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    for stream, coloured in ((Tty(), True), (io.StringIO(), False)):
        monkeypatch.setattr(sys, "stderr", stream)
        output.wrn("careful")
        assert ("\x1b[" in stream.getvalue()) == coloured
        assert "tinytx: warning: careful" in stream.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    tty = Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    output.err("plain")
    assert tty.getvalue() == "tinytx: error: plain\n"


def test_closed_stdout_stops_quietly() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody reads: the first write fails with EPIPE
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "tinytx.cli", "targets"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert proc.returncode == ExitCode.BROKEN_PIPE == 141
    assert proc.stderr == ""


def test_current_directory_and_symlink_outputs(
    good: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(good / "out", tmp_path / "here")
    (tmp_path / "link").symlink_to(tmp_path / "here")
    bare = tmp_path / "bare.onnx"
    shutil.copy(RADAR, bare)
    monkeypatch.chdir(tmp_path / "here")  # `-o .`: the files are replaced, not the directory
    assert main(["convert", str(bare), "-o", "."]) == ExitCode.OK
    assert Path.cwd().samefile(tmp_path / "here")
    assert sorted(p.name for p in Path.cwd().iterdir()) == [
        "model.c",
        "model.h",
        "plan.txt",
        PROVENANCE,
    ]
    monkeypatch.chdir(tmp_path)  # through a link: its target is replaced, the link stays
    assert main(["convert", str(RADAR), "-o", "link"]) == ExitCode.OK
    assert (tmp_path / "link").is_symlink()
    assert (tmp_path / "here" / "test_data.c").is_file()
    assert no_temporaries(tmp_path) == []


def test_file_outputs_follow_links_and_never_replace_devices(
    good: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import stat

    shutil.copy(good / "w.hex", tmp_path / "real.hex")
    (tmp_path / "link.hex").symlink_to("real.hex")
    hex_cmd = ["weights-hex", "--board", "nucleo_h743zi", "--demo-seed", "8"]
    assert main([*hex_cmd, "-o", str(tmp_path / "link.hex")]) == ExitCode.OK
    assert (tmp_path / "link.hex").is_symlink()
    assert (tmp_path / "real.hex").read_bytes() != (good / "w.hex").read_bytes()
    assert no_temporaries(tmp_path) == []
    devnull = Path(os.devnull)
    assert main([*hex_cmd, "-o", str(devnull)]) == ExitCode.OK
    assert stat.S_ISCHR(devnull.stat().st_mode)  # written to, not replaced by a file
    code, _, err = run(capsys, "plan", "A", "--board", "nucleo_h743zi", "--json", os.devnull)
    assert code == ExitCode.OK, err
    assert stat.S_ISCHR(devnull.stat().st_mode)
