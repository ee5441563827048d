"""Static checks of tinytx's Zephyr side, for CI machines without Zephyr.

Each ``check_*`` function raises :class:`ZephyrCheckError` with one message naming the
file and the problem, and returns what later checks need:

- :func:`check_west_manifest`: west's own manifest parser (imports not resolved), the
  Zephyr pin (a 4.x release), the import allowlist, the west-commands file;
- :func:`check_module_yml`: zephyr/module.yml against module-schema.yaml (Zephyr's
  METADATA_SCHEMA) and the paths zephyr_module.py checks;
- :func:`check_twister_yaml`: a sample.yaml / testcase.yaml against
  testsuite-schema.yaml (twister's), plus scenario names, board targets, regexes;
- :func:`load_kconfig` / :func:`apply_fragments`: kconfiglib over Kconfig.zephyr (the
  Zephyr symbols tinytx uses) and module/Kconfig for a board profile, then .conf
  fragments, failing on undefined symbols and on values that do not stick, as
  Zephyr's build does;
- :func:`run_cmake_stub`: an application's CMakeLists.txt and module/CMakeLists.txt run
  by CMake in script mode with Zephyr's commands stubbed (cmake_stubs.cmake);
- :func:`check_overlay`: a board overlay's weights partition against boards.yaml.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

FIXTURES = Path(__file__).resolve().parent
REPO_ROOT = FIXTURES.parents[2]
MODULE_KCONFIG = REPO_ROOT / "module" / "Kconfig"
MODULE_CMAKE = REPO_ROOT / "module" / "CMakeLists.txt"
KCONFIG_FUNCTIONS = "kconfigfunctions_tinytx"

# Zephyr modules the Nucleo boards cannot build without (west.yml's allowlist).
REQUIRED_MODULES = frozenset({"cmsis_6", "hal_stm32"})
ZEPHYR_RELEASE = re.compile(r"^v4\.\d+\.\d+$")
SCENARIO_NAME = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")
CONF_LINE = re.compile(r"^(CONFIG_[A-Za-z0-9_]+)=(.*)$")
NUMBER = re.compile(r"-?[0-9]+|0[xX][0-9a-fA-F]+")


class ZephyrCheckError(Exception):
    """A static check failed."""


def _load_yaml(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ZephyrCheckError(f"{path}: not valid YAML: {exc}") from None


def _pykwalify(path: Path, data: object, schema_file: Path) -> None:
    from pykwalify.core import Core
    from pykwalify.errors import PyKwalifyException

    logging.getLogger("pykwalify").setLevel(logging.CRITICAL)
    schema = yaml.safe_load(schema_file.read_text())
    try:
        Core(source_data=data, schema_data=schema).validate(raise_exception=True)
    except PyKwalifyException as exc:
        raise ZephyrCheckError(f"{path}: {schema_file.name}: {exc.msg}") from None


# --- west.yml ------------------------------------------------------------------------


def check_west_manifest(path: Path, repo_root: Path = REPO_ROOT) -> None:
    from west.manifest import ImportFlag, MalformedManifest, Manifest

    data = _load_yaml(path)
    try:
        manifest = Manifest.from_data(source_data=data, import_flags=ImportFlag.IGNORE)
    except MalformedManifest as exc:
        raise ZephyrCheckError(f"{path}: west rejects it: {' '.join(map(str, exc.args))}") from None
    commands = manifest.projects[0].west_commands
    if not commands:
        raise ZephyrCheckError(f"{path}: self has no west-commands (west tinytx)")
    for rel in commands:
        if not (repo_root / rel).is_file():
            raise ZephyrCheckError(f"{path}: west-commands file {rel} does not exist")
    zephyr = [p for p in manifest.projects if p.name == "zephyr"]
    if len(zephyr) != 1:
        raise ZephyrCheckError(f"{path}: no project named zephyr")
    if not ZEPHYR_RELEASE.match(zephyr[0].revision):
        raise ZephyrCheckError(
            f"{path}: zephyr revision {zephyr[0].revision!r} is not a pinned 4.x release"
        )
    raw = next(p for p in data["manifest"]["projects"] if p.get("name") == "zephyr")
    imported = raw.get("import")
    allow = imported.get("name-allowlist") if isinstance(imported, dict) else None
    if not isinstance(allow, list):
        raise ZephyrCheckError(f"{path}: zephyr's import has no name-allowlist (imports all)")
    missing = sorted(REQUIRED_MODULES - set(allow))
    if missing:
        raise ZephyrCheckError(f"{path}: name-allowlist lacks {', '.join(missing)}")


# --- zephyr/module.yml ---------------------------------------------------------------


def check_module_yml(path: Path, repo_root: Path = REPO_ROOT) -> dict:
    data = _load_yaml(path)
    _pykwalify(path, data, FIXTURES / "module-schema.yaml")
    build = data.get("build", {})
    cmake = build.get("cmake")
    if cmake is not None and not (repo_root / cmake / "CMakeLists.txt").is_file():
        raise ZephyrCheckError(f"{path}: build.cmake {cmake!r} holds no CMakeLists.txt")
    kconfig = build.get("kconfig")
    if kconfig is not None and not (repo_root / kconfig).is_file():
        raise ZephyrCheckError(f"{path}: build.kconfig {kconfig!r} is not a file")
    board_root = build.get("settings", {}).get("board_root")
    if board_root is not None and not (repo_root / board_root / "boards").is_dir():
        raise ZephyrCheckError(f"{path}: board_root {board_root!r} has no boards/ directory")
    for key in ("samples", "tests"):
        for rel in data.get(key, []):
            if not (repo_root / rel).is_dir():
                raise ZephyrCheckError(f"{path}: {key} entry {rel!r} is not a directory")
    return data


# --- sample.yaml / testcase.yaml -----------------------------------------------------


def known_boards() -> dict:
    return yaml.safe_load((FIXTURES / "zephyr_boards.yaml").read_text())


def _as_list(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return value.split()
    return [str(v) for v in value]


@dataclass(frozen=True)
class Scenario:
    name: str
    platforms: tuple[str, ...]
    extra_configs: tuple[str, ...]
    harness: str | None
    regexes: tuple[str, ...]
    record_regexes: tuple[str, ...]


def check_twister_yaml(path: Path) -> list[Scenario]:
    """Validate one twister file; returns its scenarios with ``common`` merged in."""
    data = _load_yaml(path)
    _pykwalify(path, data, FIXTURES / "testsuite-schema.yaml")
    if path.name == "sample.yaml" and "sample" not in data:
        raise ZephyrCheckError(f"{path}: a sample.yaml needs a sample: name")
    boards = known_boards()
    common = data.get("common") or {}
    scenarios = []
    for name, own in data["tests"].items():
        merged = {**common, **(own or {})}
        if not SCENARIO_NAME.match(name):
            raise ZephyrCheckError(f"{path}: scenario name {name!r} is not dotted lowercase")
        platforms = _as_list(merged.get("platform_allow"))
        for board in platforms + _as_list(merged.get("integration_platforms")):
            if board not in boards:
                raise ZephyrCheckError(
                    f"{path}: {name}: board target {board!r} is not one of"
                    f" zephyr_boards.yaml ({', '.join(boards)})"
                )
        configs = _as_list(merged.get("extra_configs"))
        for line in configs:
            if not CONF_LINE.match(line):
                raise ZephyrCheckError(f"{path}: {name}: extra_configs entry {line!r}")
        hc = merged.get("harness_config") or {}
        regexes = tuple(hc.get("regex") or ())
        records = tuple((hc.get("record") or {}).get("regex") or ())
        if merged.get("harness") == "console":
            if hc.get("type") not in ("one_line", "multi_line") or not regexes:
                raise ZephyrCheckError(
                    f"{path}: {name}: a console harness needs type one_line/multi_line and regex"
                )
        for rx in regexes + records:
            try:
                compiled = re.compile(rx)
            except re.error as exc:
                raise ZephyrCheckError(f"{path}: {name}: regex {rx!r}: {exc}") from None
            if rx in records and not compiled.groupindex:
                raise ZephyrCheckError(f"{path}: {name}: record regex {rx!r} has no named group")
        scenarios.append(
            Scenario(
                name, tuple(platforms), tuple(configs), merged.get("harness"), regexes, records
            )
        )
    return scenarios


# --- Kconfig -------------------------------------------------------------------------


def board_profiles() -> dict:
    return yaml.safe_load((FIXTURES / "kconfig_profiles.yaml").read_text())


def overlay_labels(path: Path) -> set[str]:
    return set(re.findall(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*:", path.read_text(), re.M))


@contextlib.contextmanager
def _kconfig_env(env: Mapping[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    if str(FIXTURES) not in sys.path:
        sys.path.insert(0, str(FIXTURES))
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def load_kconfig(
    profile_name: str,
    top: Path | None = None,
    module_kconfig: Path = MODULE_KCONFIG,
    boards_dir: Path = REPO_ROOT / "boards" / "zephyr",
):
    """kconfiglib over ``top`` (an application's Kconfig, or the stand-in of Zephyr's
    tree) with the tinytx module's Kconfig, for the board profile ``profile_name``."""
    import kconfiglib

    profile = board_profiles()[profile_name]
    labels: set[str] = set()
    if profile.get("overlay"):
        labels = overlay_labels(boards_dir / f"{profile['overlay']}.overlay")
    env = {
        "srctree": str(FIXTURES),
        "TINYTX_MODULE_KCONFIG": str(module_kconfig),
        "KCONFIG_FUNCTIONS": KCONFIG_FUNCTIONS,
    }
    with _kconfig_env(env):
        functions = importlib.import_module(KCONFIG_FUNCTIONS)
        functions.DEVICETREE = {"chosen": set(profile.get("chosen", ())), "nodelabels": labels}
        try:
            kconf = kconfiglib.Kconfig(
                str((top or FIXTURES / "Kconfig.zephyr").resolve()), warn_to_stderr=False
            )
        except kconfiglib.KconfigError as exc:
            raise ZephyrCheckError(f"Kconfig: {exc}") from None
    # kconfiglib registers the numbers of ranges and defaults as symbols too.
    undefined = sorted(
        name
        for name, sym in kconf.syms.items()
        if not sym.nodes and name != "MODULES" and not NUMBER.fullmatch(name)
    )
    if undefined:
        raise ZephyrCheckError(
            "Kconfig: symbols referenced but not defined (neither by tinytx nor by the"
            f" Zephyr stand-in Kconfig.zephyr): {', '.join(undefined)}"
        )
    for name, value in (profile.get("symbols") or {}).items():
        sym = kconf.syms[name]
        sym.set_value(str(value))
        if sym.str_value != str(value):
            raise ZephyrCheckError(f"profile {profile_name}: cannot set {name}={value}")
    return kconf


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def apply_fragments(kconf, fragments: Sequence[Path | str], where: str) -> dict[str, str]:
    """Load .conf fragments (paths, or "CONFIG_X=v" lines) in order, as Zephyr merges
    them; fail on an undefined symbol or on a value that does not stick. Returns the
    assignments."""
    import tempfile

    assigned: dict[str, str] = {}
    for fragment in fragments:
        if isinstance(fragment, Path):
            text, name = fragment.read_text(), str(fragment)
        else:
            text, name = fragment + "\n", f"{where} extra_configs"
        for line in text.splitlines():
            m = CONF_LINE.match(line.strip())
            if not m:
                continue
            symbol = m[1][len("CONFIG_") :]
            sym = kconf.syms.get(symbol)
            if sym is None or not sym.nodes:
                raise ZephyrCheckError(f"{name}: {m[1]} is not a Kconfig symbol")
            assigned[symbol] = _unquote(m[2])
        with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as tmp:
            tmp.write(text)
        try:
            kconf.load_config(tmp.name, replace=False)
        finally:
            os.unlink(tmp.name)
    for symbol, value in assigned.items():
        got = kconf.syms[symbol].str_value
        if got != value:
            raise ZephyrCheckError(
                f"{where}: CONFIG_{symbol} was assigned {value!r} but got {got!r}"
                " (unmet dependency or out of range)"
            )
    return assigned


def app_configuration(app: Path, scenario: Scenario, board: str):
    """An application's configuration for ``board`` as Zephyr merges it: its Kconfig
    (or Zephyr's alone), prj.conf, the application's boards/<board>.conf, tinytx's
    boards/zephyr/<board>.conf, then the scenario's extra_configs."""
    top = app / "Kconfig" if (app / "Kconfig").is_file() else None
    kconf = load_kconfig(board, top)
    name = board.replace("/", "_")
    fragments: list[Path | str] = [app / "prj.conf"]
    for extra in (
        app / "boards" / f"{name}.conf",
        REPO_ROOT / "boards" / "zephyr" / f"{name}.conf",
    ):
        if extra.is_file():
            fragments.append(extra)
    fragments += list(scenario.extra_configs)
    where = f"{app.relative_to(REPO_ROOT)} {scenario.name} on {board}"
    apply_fragments(kconf, fragments, where)
    return kconf


def config_values(kconf) -> dict[str, str]:
    """The CONFIG_* values a Zephyr build would import into CMake (not n, not empty)."""
    values = {}
    for sym in kconf.unique_defined_syms:
        if sym.str_value not in ("", "n"):
            values[sym.name] = sym.str_value
    return values


# --- CMake ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StubRun:
    calls: tuple[tuple[str, tuple[str, ...]], ...]
    output: str

    def args_of(self, command: str) -> list[tuple[str, ...]]:
        return [args for cmd, args in self.calls if cmd == command]


def run_cmake_stub(
    app: Path | None,
    config: Mapping[str, str],
    board: str,
    binary_dir: Path,
    module: Path = MODULE_CMAKE,
    defines: Mapping[str, str] | None = None,
) -> StubRun:
    """``app``'s CMakeLists.txt (and ``module``) in CMake script mode, Zephyr stubbed."""
    binary_dir.mkdir(parents=True, exist_ok=True)
    config_file = binary_dir / "stub_config.cmake"
    config_file.write_text("".join(f'set(CONFIG_{k} "{v}")\n' for k, v in sorted(config.items())))
    cmd = [
        "cmake",
        f"-DSTUB_CONFIG={config_file}",
        f"-DSTUB_MODULE={module}",
        f"-DBOARD={board}",
        f"-DSTUB_BINARY_DIR={binary_dir}",
        f"-DPYTHON_EXECUTABLE={sys.executable}",
    ]
    cmd += [f"-D{k}={val}" for k, val in (defines or {}).items()]
    if app is not None:
        cmd.append(f"-DSTUB_APP={app}")
    cmd += ["-P", str(FIXTURES / "cmake_stubs.cmake")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=binary_dir)
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        tail = "\n".join(output.strip().splitlines()[-12:])
        raise ZephyrCheckError(f"{app or module}: CMake failed:\n{tail}")
    calls = []
    for line in output.splitlines():
        if line.startswith("TINYTX_STUB|"):
            _, command, *args = line.split("|")
            calls.append((command, tuple(a for a in args if a)))
    return StubRun(tuple(calls), output)


def app_sources(run: StubRun, app_dir: Path) -> list[Path]:
    """The files the application adds to its ``app`` target; fails on a missing one."""
    sources = []
    for args in run.args_of("target_sources"):
        for item in args[2:] if args[:2] == ("app", "PRIVATE") else args:
            path = Path(item) if Path(item).is_absolute() else app_dir / item
            if not path.is_file():
                raise ZephyrCheckError(f"{app_dir}/CMakeLists.txt: source {item} does not exist")
            sources.append(path)
    return sources


def library_sources(run: StubRun) -> list[Path]:
    """The files module/CMakeLists.txt compiles into the tinytx library."""
    sources = [Path(a) for args in run.args_of("zephyr_library_sources") for a in args]
    for path in sources:
        if not path.is_file():
            raise ZephyrCheckError(f"module/CMakeLists.txt: source {path} does not exist")
    return sources


# --- devicetree overlays -------------------------------------------------------------

PARTITION = re.compile(
    r"(?P<nodelabel>\w+)\s*:\s*partition@(?P<unit>[0-9a-fA-F]+)\s*\{(?P<body>[^{}]*)\}\s*;", re.S
)


def check_overlay(path: Path, board) -> None:
    """The weights partition of a board overlay equals boards.yaml's weights_partition."""
    text = path.read_text()
    if text.count("{") != text.count("}"):
        raise ZephyrCheckError(f"{path}: unbalanced braces")
    partitions = [m for m in PARTITION.finditer(text) if "tinytx_weights" in m["body"]]
    if len(partitions) != 1:
        raise ZephyrCheckError(f"{path}: no single partition labelled tinytx_weights")
    m = partitions[0]
    if m["nodelabel"] != "tinytx_weights_partition":
        raise ZephyrCheckError(f"{path}: node label {m['nodelabel']} (module/Kconfig and the"
                               " port use tinytx_weights_partition)")  # fmt: skip
    if not re.search(r'label\s*=\s*"tinytx_weights"\s*;', m["body"]):
        raise ZephyrCheckError(f'{path}: the partition needs label = "tinytx_weights"')
    reg = re.search(r"reg\s*=\s*<\s*(0x[0-9a-fA-F]+|\d+)\s+(0x[0-9a-fA-F]+|\d+)\s*>", m["body"])
    if reg is None:
        raise ZephyrCheckError(f"{path}: the partition has no reg = <offset size>")
    offset, size = int(reg[1], 0), int(reg[2], 0)
    if int(m["unit"], 16) != offset:
        raise ZephyrCheckError(f"{path}: unit address {m['unit']} differs from reg {offset:#x}")
    flash = board.regions("flash")[0]
    part = board.weights_partition
    if (flash.address + offset, size) != (part.address, part.size):
        raise ZephyrCheckError(
            f"{path}: partition at {flash.address + offset:#x}, {size:#x} bytes; boards.yaml"
            f" says {part.address:#x}, {part.size:#x} bytes"
        )
