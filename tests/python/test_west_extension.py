# SPDX-License-Identifier: Apache-2.0
"""`west tinytx` works in a fresh west workspace whose manifest repo is tinytx.

The workspace is made with `west init -l` on a copy of the manifest and the
scripts only; nothing is fetched (no `west update`), so no network is needed.

West resolves every `import:` of the manifest before it loads any extension
command, and the Zephyr project is imported (with a name allowlist). Without
`west update` there is no Zephyr clone, so the fixture puts a local stand-in
git repository at ws/zephyr: a stub west.yml committed at the `manifest-rev`
ref, the ref from which west reads imported manifests. The stub also lets the
test check that the allowlist keeps only the modules tinytx asks for.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip(
    "west",
    reason="west is not installed in this Python (install the dev extra: pip install -e '.[dev]')",
)
if shutil.which("git") is None:
    pytest.skip("git is not installed (west needs it)", allow_module_level=True)

REPO_ROOT = Path(__file__).resolve().parents[2]


def _tinytx_commands() -> list[str]:
    try:
        cli = importlib.import_module("tinytx.cli")
    except ModuleNotFoundError as exc:
        if exc.name != "tinytx":
            raise
        sys.path.insert(0, str(REPO_ROOT / "scripts"))
        cli = importlib.import_module("tinytx.cli")
    return list(cli.COMMANDS)


# What the stand-in Zephyr repository's west.yml declares: the modules
# tinytx's west.yml allowlists, plus two it does not (cmsis, the CMSIS 5
# module, and hal_nordic), which the allowlist must filter out. The URLs are
# never fetched.
STUB_ZEPHYR_MANIFEST = """\
manifest:
  remotes:
    - name: upstream
      url-base: https://example.invalid/zephyrproject-rtos
  defaults:
    remote: upstream
  projects:
    - name: cmsis
      path: modules/hal/cmsis
    - name: cmsis_6
      repo-path: CMSIS_6
      path: modules/hal/cmsis_6
    - name: hal_nordic
      path: modules/hal/nordic
    - name: hal_stm32
      path: modules/hal/stm32
    - name: picolibc
      path: modules/lib/picolibc
  self:
    path: zephyr
"""

EXPECTED_PROJECTS = {"manifest", "zephyr", "cmsis_6", "hal_stm32", "picolibc"}


def _west_cmd() -> list[str]:
    west = Path(sys.executable).parent / ("west.exe" if os.name == "nt" else "west")
    if west.is_file():
        return [str(west)]
    return [sys.executable, "-m", "west"]


@pytest.fixture()
def workspace(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A west workspace tmp_path/ws with this repo's manifest at ws/tinytx."""
    topdir = tmp_path / "ws"
    manifest_repo = topdir / "tinytx"
    (manifest_repo / "scripts").mkdir(parents=True)
    shutil.copy2(REPO_ROOT / "west.yml", manifest_repo / "west.yml")
    shutil.copy2(
        REPO_ROOT / "scripts" / "west-commands.yml",
        manifest_repo / "scripts" / "west-commands.yml",
    )
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in ("west_commands", "tinytx"):
        shutil.copytree(
            REPO_ROOT / "scripts" / package,
            manifest_repo / "scripts" / package,
            ignore=ignore,
        )

    env = dict(os.environ)
    # Keep the user's and the machine's west and git configuration out of it.
    env["WEST_CONFIG_GLOBAL"] = str(tmp_path / "west-global.cfg")
    env["WEST_CONFIG_SYSTEM"] = str(tmp_path / "west-system.cfg")
    env.pop("WEST_CONFIG_LOCAL", None)
    env.pop("ZEPHYR_BASE", None)
    (tmp_path / "gitconfig").write_text("")
    env["GIT_CONFIG_GLOBAL"] = str(tmp_path / "gitconfig")
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    for who in ("AUTHOR", "COMMITTER"):
        env[f"GIT_{who}_NAME"] = "tinytx test"
        env[f"GIT_{who}_EMAIL"] = "test@example.invalid"
    env["NO_COLOR"] = "1"

    init = subprocess.run(
        [*_west_cmd(), "init", "-l", str(manifest_repo)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert init.returncode == 0, f"west init -l failed:\n{init.stdout}\n{init.stderr}"
    assert (topdir / ".west" / "config").is_file()

    zephyr = topdir / "zephyr"
    zephyr.mkdir()
    (zephyr / "west.yml").write_text(STUB_ZEPHYR_MANIFEST)
    for git_args in (
        ["init", "-q"],
        ["add", "west.yml"],
        ["commit", "-q", "-m", "stand-in for zephyr"],
        ["update-ref", "refs/heads/manifest-rev", "HEAD"],
    ):
        subprocess.run(["git", *git_args], cwd=zephyr, env=env, check=True, timeout=60)
    return topdir, env


def _west(workspace: tuple[Path, dict[str, str]], *args: str) -> subprocess.CompletedProcess:
    topdir, env = workspace
    return subprocess.run(
        [*_west_cmd(), *args],
        cwd=topdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_manifest_imports_only_the_allowlisted_modules(workspace):
    result = _west(workspace, "list", "-f", "{name}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert set(result.stdout.split()) == EXPECTED_PROJECTS


def test_west_tinytx_help_lists_commands(workspace):
    result = _west(workspace, "tinytx", "--help")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "usage:" in result.stdout
    for name in _tinytx_commands():
        assert name in result.stdout, f"{name!r} missing from `west tinytx --help`:\n{output}"


def test_west_lists_the_extension(workspace):
    result = _west(workspace, "--help")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "tinytx" in result.stdout


def test_west_tinytx_unknown_command_fails(workspace):
    result = _west(workspace, "tinytx", "no-such-command")
    assert result.returncode != 0, result.stdout + result.stderr
    assert "no-such-command" in result.stderr
