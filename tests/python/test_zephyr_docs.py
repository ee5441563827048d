"""docs/zephyr.md against the code: its commands, paths and files are the ones that work.

- every `tinytx ...` / `west tinytx ...` command of its code blocks parses with the
  tinytx command line (options and choices exist);
- every `west build` / `west flash` directory is where the build lands: `tinytx build`
  puts `<sample>-<board>` under the checkout's build/ (`tinytx/build/...` from the top of
  a workspace), plain `west build` uses west's default `build/`;
- the west.yml of "Add tinytx to your application" is a valid west manifest that pins
  the Zephyr of this repository's west.yml with the modules it needs, and its tinytx
  project's west-commands file exists;
- its CMakeLists.txt, run by CMake with Zephyr stubbed, adds the converted model to
  `app`; its snippet and Kconfig options exist.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import shutil
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
DOC = REPO_ROOT / "docs" / "zephyr.md"
sys.path.insert(0, str(Path(__file__).resolve().parent / "zephyr_fixtures"))

import zephyr_validators as v  # noqa: E402

from tinytx.cli.app import build_parser  # noqa: E402
from tinytx.core.resources import DEFAULT_BUILD_SUBDIR  # noqa: E402

SECTION = "## Add tinytx to your application"


def code_blocks(text: str, language: str | None = None) -> list[str]:
    blocks = re.findall(r"^ *```(\w*)\n(.*?)^ *```", text, re.M | re.S)
    return [textwrap.dedent(body) for lang, body in blocks if language is None or lang == language]


def shell_lines(text: str) -> list[list[str]]:
    lines = []
    for block in code_blocks(text, "sh"):
        for line in block.splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                lines.append(shlex.split(line))
    return lines


def section(text: str, title: str) -> str:
    start = text.index(title)
    end = text.find("\n## ", start + len(title))
    return text[start : end if end > 0 else len(text)]


def test_doc_has_the_application_section():
    text = DOC.read_text()
    assert SECTION in text
    assert "ARCHITECTURE" not in (REPO_ROOT / "README.md").read_text()


def tinytx_commands() -> list[list[str]]:
    commands = []
    for words in shell_lines(DOC.read_text()):
        if words[:2] == ["west", "tinytx"]:
            commands.append(words[2:])
        elif words[:1] == ["tinytx"]:
            commands.append(words[1:])
    return commands


@pytest.mark.parametrize("args", tinytx_commands(), ids=" ".join)
def test_tinytx_commands_parse(args, capsys):
    parser = build_parser()
    try:
        parser.parse_args(args)
    except SystemExit:
        pytest.fail(f"`tinytx {' '.join(args)}`: {capsys.readouterr().err.strip()}")


def check_build_dirs(text: str) -> None:
    """`tinytx build` builds in <checkout>/build/<sample>-<board>: from the top of a
    workspace (the checkout at tinytx/), tinytx/build/<sample>-<board>. Every
    `west flash -d` and weights.hex of ``text`` must name such a build; a plain
    `west build` builds with the snippet in west's default build/."""
    lines = shell_lines(text)
    built = set()
    for words in lines:
        if words[:3] == ["west", "tinytx", "build"] and "-b" in words:
            sample = Path(words[3]).name
            built.add(f"{DEFAULT_BUILD_SUBDIR.as_posix()}/{sample}-{words[words.index('-b') + 1]}")
    assert built
    flashed = [w[w.index("-d") + 1] for w in lines if w[:2] == ["west", "flash"] and "-d" in w]
    assert flashed
    for directory in flashed:
        assert directory in built, f"`west flash -d {directory}`: no build goes there"
    for words in lines:
        if words[:2] == ["west", "build"]:
            assert "-S" in words and words[words.index("-S") + 1] == "tinytx", words
        for hex_file in (w for w in words if w.endswith(".hex") and "/" in w):
            assert Path(hex_file).parent.parent.as_posix() in built, hex_file


def test_build_directories_are_where_the_builds_land():
    check_build_dirs(DOC.read_text())


@pytest.mark.parametrize(
    "old, new",
    [
        ("west flash -d build/tinytx/radar-nucleo_l476rg",
         "west flash -d tinytx/build/radar-nucleo_l476rg"),
        ("west build -b nucleo_h743zi -S tinytx tinytx/samples/ecg",
         "west build -b nucleo_h743zi tinytx/samples/ecg"),
        ("--hex-file build/tinytx/mhsa_bench-nucleo_h743zi/",
         "--hex-file tinytx/build/mhsa_bench-nucleo_h743zi/"),
    ],
)  # fmt: skip
def test_build_directory_check_rejects_the_former_paths(old, new):
    text = DOC.read_text()
    assert old in text
    with pytest.raises(AssertionError):
        check_build_dirs(text.replace(old, new))


def test_application_manifest_is_valid():
    text = section(DOC.read_text(), SECTION)
    (manifest,) = [b for b in code_blocks(text, "yaml") if "manifest:" in b]
    data = yaml.safe_load(manifest)
    from west.manifest import ImportFlag, Manifest

    parsed = Manifest.from_data(source_data=data, import_flags=ImportFlag.IGNORE)
    ours = yaml.safe_load((REPO_ROOT / "west.yml").read_text())["manifest"]["projects"]
    (zephyr,) = [p for p in parsed.projects if p.name == "zephyr"]
    (our_zephyr,) = [p for p in ours if p["name"] == "zephyr"]
    assert zephyr.revision == our_zephyr["revision"]
    allow = data["manifest"]["projects"][0]["import"]["name-allowlist"]
    assert set(allow) == set(our_zephyr["import"]["name-allowlist"])
    (tinytx,) = [p for p in parsed.projects if p.name == "tinytx"]
    assert tinytx.path == "modules/lib/tinytx"
    for commands in tinytx.west_commands:
        assert (REPO_ROOT / commands).is_file()
    assert "pip install -e modules/lib/tinytx" in text


@pytest.mark.skipif(shutil.which("cmake") is None, reason="cmake is not installed")
def test_application_cmakelists_adds_the_model(tmp_path):
    text = section(DOC.read_text(), SECTION)
    (cmake,) = [b for b in code_blocks(text, "cmake") if "tinytx_add_model" in b]
    app = tmp_path / "my-app"
    (app / "src").mkdir(parents=True)
    (app / "src" / "main.c").write_text("int main(void) { return 0; }\n")
    (app / "model").mkdir()
    model = app / "model" / "model.onnx"
    model.write_bytes(b"stand-in")
    (app / "CMakeLists.txt").write_text(cmake + "\n")
    converted = tmp_path / "converted"
    converted.mkdir()
    (converted / "model.c").write_text("/* converted */\n")
    record = {"onnx": str(model), "options": {"board": "nucleo_h743zi", "kernels": "arm"}}
    (converted / "tinytx-model.json").write_text(json.dumps(record))
    config = {"TINYTX": "y", "TINYTX_KERNEL_VARIANT": "arm"}
    run = v.run_cmake_stub(
        app / "CMakeLists.txt", config, "nucleo_h743zi", tmp_path / "b",
        defines={"TINYTX_GENERATED_DIR": str(converted)},
    )  # fmt: skip
    assert {p.name for p in v.app_sources(run, app)} == {"main.c", "model.c"}


def test_application_snippet_and_kconfig_exist():
    text = section(DOC.read_text(), SECTION)
    assert v.find_snippet("tinytx").name == "tinytx"
    kconf = v.load_kconfig("nucleo_h743zi")
    named = set(re.findall(r"CONFIG_([A-Z0-9_]+)", text))
    assert named
    for name in named:
        assert name in kconf.syms and kconf.syms[name].nodes, f"CONFIG_{name} is not a symbol"


def test_convert_options_in_the_doc_exist():
    text = section(DOC.read_text(), SECTION)
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    convert = sub.choices["convert"]
    flags = {f for a in convert._actions for f in a.option_strings}
    for flag in re.findall(r"OPTIONS (--[a-z-]+)", text):
        assert flag in flags, flag
