"""Build hook of the tinytx wheel (the project itself is described in pyproject.toml).

The wheel carries the data tinytx reads at run time (boards, kernels, ports, samples and
the firmware sources of the kernel suites, the bench and the plan canary) as package data
in ``tinytx/_data``, with the checkout's layout, so that the CMake projects find each
other by their relative paths. :mod:`tinytx.core.resources` names the trees
(``DATA_TREES``) and finds them there, or in the checkout for an editable install.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
RESOURCES = ROOT / "scripts" / "tinytx" / "core" / "resources.py"
# Build output, caches and editor files never ship.
IGNORE = shutil.ignore_patterns("build", "__pycache__", "*.pyc", ".*")


def data_trees() -> tuple[str, ...]:
    """DATA_TREES of tinytx.core.resources, read without importing the package."""
    for node in ast.parse(RESOURCES.read_text()).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "DATA_TREES" for t in node.targets
        ):
            return tuple(ast.literal_eval(node.value))
    raise SystemExit(f"setup.py: no DATA_TREES in {RESOURCES}")


class BuildPyWithData(build_py):
    """build_py, then the data trees copied into the built package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout's own trees
        dest = Path(self.build_lib) / "tinytx" / "_data"
        shutil.rmtree(dest, ignore_errors=True)  # no stale file from an earlier build
        for tree in data_trees():
            source = ROOT / tree
            if not source.is_dir():
                raise SystemExit(f"setup.py: package data {tree}/ missing under {ROOT}")
            shutil.copytree(source, dest / tree, ignore=IGNORE)


setup(cmdclass={"build_py": BuildPyWithData})
