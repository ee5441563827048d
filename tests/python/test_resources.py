"""tinytx.core.resources: where the data come from (package data or checkout) and where
builds go (--build-dir, $TINYTX_BUILD_DIR, ./build/tinytx; never into the package)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from tinytx.core import resources
from tinytx.core.errors import TinytxError

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_a_checkout_reads_its_own_trees():
    root = resources.find_data_root()
    assert root == resources.DataRoot(REPO_ROOT, "checkout")
    assert resources.kernels_dir() == REPO_ROOT / "kernels"
    assert (resources.baremetal_port_dir() / "CMakeLists.txt").is_file()
    assert (resources.samples_dir() / "radar" / "model" / "model.onnx").is_file()
    for tree in resources.DATA_TREES:
        assert (root.path / tree).is_dir(), tree


def test_package_data_win_over_the_checkout(tmp_path: Path, monkeypatch):
    package = tmp_path / "site-packages" / "tinytx"
    for marker in resources.MARKERS:
        (package / "_data" / marker).parent.mkdir(parents=True, exist_ok=True)
        (package / "_data" / marker).write_text("")
    monkeypatch.setattr(resources, "package_dir", lambda: package)
    assert resources.find_data_root() == resources.DataRoot(package / "_data", "package")
    assert resources.boards_dir() == package / "_data" / "boards"


def test_missing_data_is_one_line_naming_both_places(tmp_path: Path, monkeypatch):
    package = tmp_path / "site-packages" / "tinytx"
    package.mkdir(parents=True)
    monkeypatch.setattr(resources, "package_dir", lambda: package)
    with pytest.raises(TinytxError, match=r"tinytx data not found: neither .*_data") as exc:
        resources.samples_dir()
    assert "\n" not in str(exc.value)


def test_a_zipped_package_is_refused(tmp_path: Path):
    archive = tmp_path / "tinytx.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("tinytx/__init__.py", "")
    with pytest.raises(TinytxError, match="installed inside an archive"):
        resources.on_disk(zipfile.Path(archive, "tinytx/"), "tinytx package")


def test_build_dir_explicit_then_env_then_cwd(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(resources.BUILD_DIR_ENV, raising=False)
    assert resources.resolve_build_dir() == tmp_path / "build" / "tinytx"
    monkeypatch.setenv(resources.BUILD_DIR_ENV, "from-env")
    assert resources.resolve_build_dir() == tmp_path / "from-env"
    assert resources.resolve_build_dir(Path("given")) == tmp_path / "given"


def test_build_dir_never_inside_the_package(monkeypatch):
    inside = resources.package_dir() / "core" / "build"
    with pytest.raises(TinytxError, match="inside the installed tinytx package"):
        resources.resolve_build_dir(inside)
    monkeypatch.setenv(resources.BUILD_DIR_ENV, str(resources.package_dir()))
    with pytest.raises(TinytxError, match="--build-dir or TINYTX_BUILD_DIR"):
        resources.resolve_build_dir()


def test_package_files_are_on_disk():
    costs = resources.package_file("tinytx.core.plan", "attention_costs.yaml")
    assert costs.is_file() and costs.parent == resources.package_dir() / "core" / "plan"


def test_own_files_are_rewritten_in_a_checkout_only(tmp_path: Path, monkeypatch):
    budgets = resources.firmware_tests_dir() / "bench" / "budgets.json"
    resources.refuse_installed_write(budgets, "--update-budget")  # a checkout: allowed
    package = tmp_path / "site-packages" / "tinytx"
    for marker in resources.MARKERS:
        (package / "_data" / marker).parent.mkdir(parents=True, exist_ok=True)
        (package / "_data" / marker).write_text("")
    monkeypatch.setattr(resources, "package_dir", lambda: package)
    installed = resources.firmware_tests_dir() / "bench" / "budgets.json"
    with pytest.raises(TinytxError, match=r"--update-budget: .* belongs to the installed"):
        resources.refuse_installed_write(installed, "--update-budget")
    resources.refuse_installed_write(tmp_path / "mine.json", "--update-budget")
