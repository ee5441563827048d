"""Where tinytx finds its data and where it builds.

The data are the trees a conversion, a plan or a sample build reads: ``boards/``,
``kernels/``, ``module/ports/``, ``samples/`` and the C sources of the kernel, bench
and plan firmware (``tests/kernels``, ``tests/bench``, ``tests/plan``). A wheel carries
them as package data in ``tinytx/_data`` with the checkout's layout (``setup.py``
copies them at build time); in a checkout (an editable install, the tests) the same
trees are the repository's own. Every lookup goes through :func:`data_root`, so both
cases take the same code path.

CMake and the compilers need real files, so the data must be on disk: an installation
from a zip archive is refused with one line.

Build output never goes into the package: :func:`resolve_build_dir` is the directory a command
was given, else ``$TINYTX_BUILD_DIR``, else ``build/tinytx`` under the current directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

from tinytx.core.errors import TinytxError

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

PACKAGE = "tinytx"
#: Directory of the package data inside the installed package.
DATA_DIR = "_data"
#: The trees a wheel carries, relative to the data root (the checkout's layout).
DATA_TREES = (
    "boards",
    "kernels",
    "module/ports",
    "samples",
    "tests/kernels",
    "tests/bench",
    "tests/plan",
)
#: Files whose presence marks a data root (installed or checkout).
MARKERS = ("boards/targets.yaml", "kernels/sources.cmake")
BUILD_DIR_ENV = "TINYTX_BUILD_DIR"
DEFAULT_BUILD_SUBDIR = Path("build") / "tinytx"
BUILD_DIR_HELP = f"where to build (default: ${BUILD_DIR_ENV}, else ./{DEFAULT_BUILD_SUBDIR})"


@dataclass(frozen=True)
class DataRoot:
    path: Path
    kind: str  # "package" (an installed wheel's tinytx/_data) or "checkout"

    def describe(self) -> str:
        return f"data: {self.path} ({self.kind})"


def on_disk(item: Traversable, what: str) -> Path:
    """``item`` as a filesystem path; one clear error when the package is not on disk."""
    if isinstance(item, Path):
        return item
    raise TinytxError(
        f"{what}: tinytx is installed inside an archive ({item}); CMake and the compilers "
        "need real files: install tinytx with pip into a directory"
    )


def package_dir() -> Path:
    """The directory of the ``tinytx`` package (site-packages, or scripts/ in a checkout)."""
    return on_disk(files(PACKAGE), "tinytx package")


def package_file(package: str, name: str) -> Path:
    """A data file inside a tinytx package (the planner's and the bench's cost tables)."""
    return on_disk(files(package) / name, f"{package}/{name}")


def find_data_root() -> DataRoot:
    """The installed package data if present, else the checkout the package lives in."""
    pkg = package_dir()
    candidates = (
        DataRoot(pkg / DATA_DIR, "package"),
        DataRoot(pkg.resolve().parents[1], "checkout"),
    )
    for root in candidates:
        if all((root.path / marker).is_file() for marker in MARKERS):
            return root
    raise TinytxError(
        f"tinytx data not found: neither {candidates[0].path} (an installed wheel) nor a "
        f"checkout at {candidates[1].path} has {' and '.join(MARKERS)}; reinstall tinytx"
    )


def data_root() -> Path:
    return find_data_root().path


def boards_dir() -> Path:
    return data_root() / "boards"


def kernels_dir() -> Path:
    """The C kernels (include/, src/, CMakeLists.txt, sources.cmake)."""
    return data_root() / "kernels"


def ports_dir() -> Path:
    return data_root() / "module" / "ports"


def baremetal_port_dir() -> Path:
    """The bare-metal CMake project every emulated firmware builds with."""
    return ports_dir() / "baremetal"


def samples_dir() -> Path:
    return data_root() / "samples"


def firmware_tests_dir() -> Path:
    """The firmware sources of the kernel suites, the bench and the plan canary
    (``tests/kernels``, ``tests/bench``, ``tests/plan`` in a checkout)."""
    return data_root() / "tests"


def shown_path(path: Path) -> str:
    """``path`` relative to the data root when it is inside it (as a user of a checkout
    writes it), else as given."""
    try:
        return str(path.relative_to(data_root()))
    except ValueError:
        return str(path)


def refuse_installed_write(path: Path, what: str) -> None:
    """A command that rewrites one of tinytx's own files (budgets, cost tables) does so in
    a checkout only, never in an installed package."""
    if find_data_root().kind == "package" and path.resolve().is_relative_to(
        package_dir().resolve()
    ):
        raise TinytxError(
            f"{what}: {path} belongs to the installed tinytx package; rewrite it in a "
            "checkout (pip install -e), or name another file"
        )


def resolve_build_dir(explicit: Path | None = None) -> Path:
    """Where a command builds: ``explicit`` (its ``--build-dir``), else $TINYTX_BUILD_DIR,
    else ``build/tinytx`` under the current directory; never inside the installed package."""
    if explicit is not None:
        chosen = Path(explicit)
    elif os.environ.get(BUILD_DIR_ENV):
        chosen = Path(os.environ[BUILD_DIR_ENV])
    else:
        chosen = Path.cwd() / DEFAULT_BUILD_SUBDIR
    chosen = chosen.expanduser().absolute()
    pkg = package_dir().resolve()
    if chosen.resolve().is_relative_to(pkg):
        raise TinytxError(
            f"build directory {chosen} is inside the installed tinytx package ({pkg}): "
            f"give another with --build-dir or {BUILD_DIR_ENV}"
        )
    return chosen
