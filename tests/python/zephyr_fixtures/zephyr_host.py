"""A Zephyr application's C code built and run on the host, and its console checked the
way twister checks it.

The application's configuration comes from its Kconfig and .conf fragments
(:func:`zephyr_validators.app_configuration`), its sources from its CMakeLists.txt run
with Zephyr stubbed (:func:`zephyr_validators.run_cmake_stub`); the stand-ins of the
Zephyr headers (``include/``) and ``src/kernel_shim.c`` replace Zephyr itself. Used by
test_zephyr_port.py (mhsa_bench, the kernel suite) and test_zephyr_samples.py (the model
samples).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import zephyr_validators as v

FIXTURES = Path(__file__).resolve().parent
HOST_FLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-g", "-O1"]
ASAN = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all"]


def scenario(path: Path, name: str) -> v.Scenario:
    return next(s for s in v.check_twister_yaml(path) if s.name == name)


def configure(app: Path, yaml_name: str, scenario_name: str, board: str, tmp: Path):
    """The app's Kconfig values for a scenario and board, and its CMake run (stubbed)."""
    sc = scenario(app / yaml_name, scenario_name)
    config = v.config_values(v.app_configuration(app, sc, board))
    run = v.run_cmake_stub(app / "CMakeLists.txt", config, board, tmp / "build")
    return config, run


def autoconf(config: dict[str, str], path: Path) -> Path:
    """autoconf.h as Zephyr writes it: bools 1, ints as is, strings quoted."""
    lines = []
    for name, value in sorted(config.items()):
        if value == "y":
            value = "1"
        elif not re.fullmatch(r"-?[0-9]+|0x[0-9a-fA-F]+", value):
            value = '"' + value.replace('"', '\\"') + '"'
        lines.append(f"#define CONFIG_{name} {value}\n")
    path.write_text("".join(lines))
    return path


def include_dirs(run: v.StubRun, app: Path) -> list[Path]:
    dirs = [Path(a) for args in run.args_of("zephyr_include_directories") for a in args]
    for args in run.args_of("target_include_directories"):
        dirs += [Path(a) if Path(a).is_absolute() else app / a for a in args[2:]]
    return dirs


def compile_host(sources, includes, out: Path, flags) -> Path:
    cmd = ["gcc", *HOST_FLAGS, *flags, *(f"-I{d}" for d in includes), *map(str, sources)]
    proc = subprocess.run([*cmd, "-o", str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def run_host(program: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(program)], capture_output=True, text=True, timeout=300)


def build_app_on_host(app: Path, config: dict[str, str], run: v.StubRun, out: Path) -> Path:
    """The application as its Zephyr build compiles it (its sources, the tinytx library,
    the compile definitions of module/CMakeLists.txt, autoconf.h), on the host with the
    kernel stand-in, AddressSanitizer and UBSan."""
    sources = [*v.app_sources(run, app), *v.library_sources(run)]
    sources.append(FIXTURES / "src" / "kernel_shim.c")
    header = autoconf(config, out.with_name(out.name + "_autoconf.h"))
    defines = [f"-D{d}" for args in run.args_of("zephyr_compile_definitions") for d in args]
    flags = [*ASAN, "-pthread", "-D__ZEPHYR__=1", *defines, "-include", str(header)]
    return compile_host(sources, [FIXTURES / "include", *include_dirs(run, app)], out, flags)


def match_console(sc: v.Scenario, console: str) -> list[dict[str, str]]:
    """What twister's console harness does with ``console`` (Zephyr v4.2.0, harness.py)
    for a multi_line ordered harness, the type of every tinytx twister file: each line
    is searched for the next regex only, so the regexes match successive lines in their
    order; every line that a record regex matches makes one record of its named
    groups. Returns the records; raises ZephyrCheckError naming the first regex that
    matches no line after the previous one's."""
    lines = console.splitlines()
    start = 0
    for rx in sc.regexes:
        compiled = re.compile(rx)
        at = next((i for i in range(start, len(lines)) if compiled.search(lines[i])), None)
        if at is None:
            raise v.ZephyrCheckError(
                f"{sc.name}: regex {rx!r} matches no line after the previous regex's in:\n{console}"
            )
        start = at + 1
    records = []
    for line in lines:
        for rx in sc.record_regexes:
            m = re.search(rx, line)
            if m:
                records.append({k: (val or "").strip() for k, val in m.groupdict().items()})
    return records
