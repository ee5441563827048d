"""Static checks of tinytx's Zephyr side, for CI machines without Zephyr.

Each ``check_*`` function raises :class:`ZephyrCheckError` with one message naming the
file and the problem, and returns what later checks need:

- :func:`check_west_manifest`: west's own manifest parser (imports not resolved), the
  Zephyr pin (a 4.x release), the import allowlist, the west-commands file;
  :func:`check_west_comments`: the release its cmsis_6 comment names;
- :func:`check_module_yml`: zephyr/module.yml against module-schema.yaml (Zephyr's
  METADATA_SCHEMA) and the paths zephyr_module.py checks (a snippet root holds
  snippets, a board root defines boards);
- :func:`check_snippet`: a snippet.yml against snippet-schema.yaml (Zephyr's snippet
  schema) and scripts/snippets.py's checks, its board keys against the board targets,
  its appended files; :func:`snippet_files` what it appends for a board;
- :func:`check_twister_yaml`: a sample.yaml / testcase.yaml against
  testsuite-schema.yaml (twister's), plus scenario names, board targets, regexes;
- :func:`load_kconfig` / :func:`apply_fragments`: kconfiglib over Kconfig.zephyr (the
  Zephyr symbols tinytx uses) and module/Kconfig for a board profile, then .conf
  fragments, failing on undefined symbols and on values that do not stick, as
  Zephyr's build does;
- :func:`run_cmake_stub`: an application's CMakeLists.txt and module/CMakeLists.txt run
  by CMake in script mode with Zephyr's commands stubbed (cmake_stubs.cmake);
- :func:`check_overlay`: a board overlay's weights partition against boards.yaml;
  :func:`check_flash_load`: a board fragment's FLASH_LOAD_SIZE ends at that partition;
- :func:`check_configure_depends`: files whose change re-runs CMake;
- :func:`check_ztest_file`: test names as twister's ztest scanner reads them;
- :func:`check_cli_kconfig_runs`: successive CMake runs in one build directory apply
  only their own -DCONFIG_... values, as Zephyr's kconfig.cmake caches them.
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
    settings = build.get("settings") or {}
    board_root = settings.get("board_root")
    if board_root is not None:
        boards = repo_root / board_root / "boards"
        # Zephyr 4.x (hardware model v2) finds a board by its board.yml; a board root
        # without one only slows list_boards.py down and suggests boards that are not.
        if not boards.is_dir() or not any(boards.rglob("board.yml")):
            raise ZephyrCheckError(
                f"{path}: board_root {board_root!r} defines no board (no boards/**/board.yml)"
            )
    snippet_root = settings.get("snippet_root")
    if snippet_root is not None:
        found = sorted((repo_root / snippet_root / "snippets").rglob("snippet.yml"))
        if not found:
            raise ZephyrCheckError(
                f"{path}: snippet_root {snippet_root!r} has no snippets/**/snippet.yml"
            )
        for snippet in found:
            check_snippet(snippet)
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
    snippets: tuple[str, ...] = ()


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
        snippets = tuple(_as_list(merged.get("required_snippets")))
        scenarios.append(
            Scenario(
                name,
                tuple(platforms),
                tuple(configs),
                merged.get("harness"),
                regexes,
                records,
                snippets,
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
    overlays: Sequence[Path] | None = None,
):
    """kconfiglib over ``top`` (an application's Kconfig, or the stand-in of Zephyr's
    tree) with the tinytx module's Kconfig, for the board profile ``profile_name``; the
    devicetree node labels come from ``overlays`` (default: the profile's overlay, as
    the tinytx snippet adds it)."""
    import kconfiglib

    profile = board_profiles()[profile_name]
    if overlays is None:
        overlays = [boards_dir / f"{profile['overlay']}.overlay"] if profile.get("overlay") else []
    labels: set[str] = set()
    for overlay in overlays:
        labels |= overlay_labels(overlay)
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
        sym = kconf.syms[symbol]
        got = sym.str_value
        if sym.choice is not None and value == "n":
            # As Zephyr's kconfig.py: an n given to a choice symbol is no request (the
            # choice still selects its default); a y must become the selection.
            continue
        if got != value:
            raise ZephyrCheckError(
                f"{where}: CONFIG_{symbol} was assigned {value!r} but got {got!r}"
                " (unmet dependency or out of range)"
            )
    return assigned


def app_configuration(app: Path, scenario: Scenario, board: str):
    """An application's configuration for ``board`` as Zephyr merges it: its Kconfig
    (or Zephyr's alone), prj.conf, the application's boards/<board>.conf, the
    EXTRA_CONF_FILE fragments of the scenario's snippets for this board (the tinytx
    snippet: snippets/tinytx/tinytx.conf and boards/zephyr/<board>.conf), then the
    scenario's extra_configs."""
    top = app / "Kconfig" if (app / "Kconfig").is_file() else None
    overlays = [
        p for sn in scenario.snippets for p in snippet_files(sn, board, "EXTRA_DTC_OVERLAY_FILE")
    ]
    kconf = load_kconfig(board, top, overlays=overlays)
    name = board.replace("/", "_")
    fragments: list[Path | str] = [app / "prj.conf"]
    if (app / "boards" / f"{name}.conf").is_file():
        fragments.append(app / "boards" / f"{name}.conf")
    for snippet in scenario.snippets:
        fragments += snippet_files(snippet, board, "EXTRA_CONF_FILE")
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
        # CMake wraps a message(FATAL_ERROR) over indented lines: the message joined
        # into one line (what a user reads as one sentence), then the output's tail.
        error = re.search(r"CMake Error[^\n]*:\n(.*?)(?:\nCall Stack|\Z)", output, re.S)
        message = " ".join(error[1].split()) if error else ""
        tail = "\n".join(output.strip().splitlines()[-12:])
        raise ZephyrCheckError(f"{app or module}: CMake failed: {message}\n{tail}")
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


def overlay_partition(path: Path) -> tuple[int, int]:
    """(offset, size) of the tinytx_weights partition of a board overlay."""
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
    return offset, size


def check_overlay(path: Path, board) -> None:
    """The weights partition of a board overlay equals boards.yaml's weights_partition."""
    offset, size = overlay_partition(path)
    flash = board.regions("flash")[0]
    part = board.weights_partition
    if (flash.address + offset, size) != (part.address, part.size):
        raise ZephyrCheckError(
            f"{path}: partition at {flash.address + offset:#x}, {size:#x} bytes; boards.yaml"
            f" says {part.address:#x}, {part.size:#x} bytes"
        )


# --- snippets ------------------------------------------------------------------------

SNIPPET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")  # scripts/snippets.py
SNIPPET_FILE_VARIABLES = ("EXTRA_DTC_OVERLAY_FILE", "EXTRA_CONF_FILE", "SB_EXTRA_CONF_FILE")
SNIPPET_ROOT = REPO_ROOT  # zephyr/module.yml: build.settings.snippet_root: .


@dataclass(frozen=True)
class Snippet:
    name: str
    path: Path
    appends: Mapping[str, tuple[Path | str, ...]]
    board_appends: Mapping[str, Mapping[str, tuple[Path | str, ...]]]

    def files(self, board_target: str, variable: str) -> list[Path]:
        """What the snippet appends to ``variable`` for ``board_target``, in Zephyr's
        order: the common appends, then those of every board key that matches."""
        found = list(self.appends.get(variable, ()))
        for key, appends in self.board_appends.items():
            if snippet_board_matches(key, board_target):
                found += appends.get(variable, ())
        return [p for p in found if isinstance(p, Path)]


def snippet_board_matches(key: str, board_target: str) -> bool:
    """Zephyr's test of a snippet's ``boards:`` key (scripts/snippets.py): a
    /regular expression/ must match the whole "${BOARD}${BOARD_IDENTIFIER}", any other
    key must equal it."""
    if key.startswith("/"):
        return re.fullmatch(key[1:-1], board_target) is not None
    return key == board_target


def check_snippet(path: Path) -> Snippet:
    """One snippet.yml, as Zephyr 4.2's scripts/snippets.py loads it (schema, name,
    regular-expression keys, appended files exist), plus what makes it work for
    tinytx's boards and under twister."""
    data = _load_yaml(path)
    _pykwalify(path, data, FIXTURES / "snippet-schema.yaml")
    name = data["name"]
    if not SNIPPET_NAME.fullmatch(name):
        raise ZephyrCheckError(f"{path}: invalid snippet name {name!r}")

    def appends_of(where: str, raw: Mapping[str, str]) -> dict[str, tuple[Path | str, ...]]:
        out: dict[str, tuple[Path | str, ...]] = {}
        for variable, value in raw.items():
            if variable in SNIPPET_FILE_VARIABLES:
                file = path.parent / value
                if not file.is_file():
                    raise ZephyrCheckError(f"{path}: {where}{variable}: file not found: {file}")
                out[variable] = (file.resolve(),)
            else:
                out[variable] = (value,)
        return out

    common = appends_of("append: ", data.get("append") or {})
    boards = {}
    targets = {info["target"] for info in known_boards().values()}
    for key, settings in (data.get("boards") or {}).items():
        if key.startswith("/") and not key.endswith("/"):
            raise ZephyrCheckError(
                f"{path}: board {key} starts with '/', so it must end with '/' (a regex)"
            )
        if not any(snippet_board_matches(key, t) for t in targets):
            raise ZephyrCheckError(
                f"{path}: board key {key!r} matches no board target of zephyr_boards.yaml"
                f" ({', '.join(sorted(targets))}): Zephyr compares it with"
                " ${BOARD}${BOARD_IDENTIFIER}, which includes the SoC qualifier"
            )
        boards[key] = appends_of(f"boards: {key}: ", (settings or {}).get("append") or {})
    if not common:
        # twister filters a platform out ("Snippet not supported") when a required
        # snippet has no common append and none of its board keys names the platform.
        raise ZephyrCheckError(
            f"{path}: no common append: twister would drop every platform the snippet"
            " names no board for (mps3/corstone300/an547)"
        )
    return Snippet(name, path, common, boards)


def find_snippet(name: str, root: Path = SNIPPET_ROOT) -> Snippet:
    for path in sorted((root / "snippets").rglob("snippet.yml")):
        snippet = check_snippet(path)
        if snippet.name == name:
            return snippet
    raise ZephyrCheckError(f"snippet {name!r}: not found under {root / 'snippets'}")


def snippet_files(name: str, board: str, variable: str) -> list[Path]:
    """The files snippet ``name`` appends to ``variable`` on ``board`` (a twister
    platform name of zephyr_boards.yaml)."""
    target = known_boards()[board]["target"]
    return find_snippet(name).files(target, variable)


# --- flash load region ---------------------------------------------------------------


def conf_values(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        m = CONF_LINE.match(line.strip())
        if m:
            values[m[1]] = _unquote(m[2])
    return values


def check_flash_load(conf: Path, overlay: Path, board) -> tuple[int, int]:
    """The board fragment's CONFIG_FLASH_LOAD_OFFSET / _SIZE keep the image out of the
    weights partition: offset + size must be the partition's start (the overlay's reg
    and boards.yaml's weights_partition). Returns (offset, size)."""
    values = conf_values(conf)
    if "CONFIG_FLASH_LOAD_SIZE" not in values:
        raise ZephyrCheckError(
            f"{conf}: no CONFIG_FLASH_LOAD_SIZE: nothing stops the firmware from growing"
            " into the weights partition"
        )
    try:
        size = int(values["CONFIG_FLASH_LOAD_SIZE"], 16)
        offset = int(values.get("CONFIG_FLASH_LOAD_OFFSET", "0"), 16)
    except ValueError as exc:
        raise ZephyrCheckError(f"{conf}: FLASH_LOAD_* is not a hex value: {exc}") from None
    if size == 0:
        raise ZephyrCheckError(f"{conf}: CONFIG_FLASH_LOAD_SIZE=0 means the whole flash")
    part_offset, _ = overlay_partition(overlay)
    flash = board.regions("flash")[0]
    if board.weights_partition.address - flash.address != part_offset:
        raise ZephyrCheckError(f"{overlay}: partition offset {part_offset:#x} is not boards.yaml's")
    if offset + size != part_offset:
        raise ZephyrCheckError(
            f"{conf}: the image may occupy {offset:#x}..{offset + size:#x} of the flash;"
            f" the weights partition starts at offset {part_offset:#x}"
            f" ({flash.address + part_offset:#x}): the load region must end there"
        )
    return offset, size


# --- twister's ztest scanner ---------------------------------------------------------

# The pattern twister (Zephyr v4.2.0 scripts/pylib/twister/twisterlib/testsuite.py,
# scan_file) finds new-style ztest test cases with, in the source file as written (not
# preprocessed): a line that starts, after any blanks, with ZTEST, ZTEST_F, ZTEST_USER
# or ZTEST_USER_F, then "(suite," and a test name of [a-zA-Z0-9_]. Twister drops the
# first "test_" of the name and reports a name without that prefix as an error.
ZTEST_CASE = re.compile(
    rb"^\s*(?:ZTEST|ZTEST_F|ZTEST_USER|ZTEST_USER_F)\(\s*(?P<suite_name>[a-zA-Z0-9_]+)\s*,"
    rb"\s*(?P<testcase_name>[a-zA-Z0-9_]+)\s*",
    re.MULTILINE,
)


def twister_ztest_names(path: Path) -> list[str]:
    """The test case names twister's scanner reads from ``path`` (prefix removed)."""
    names = [m["testcase_name"].decode() for m in ZTEST_CASE.finditer(path.read_bytes())]
    return [n.replace("test_", "", 1) for n in names]


def check_ztest_file(path: Path, expected: Sequence[str]) -> list[str]:
    """Every ZTEST of ``path`` is one twister sees under its own name: no ZTEST inside a
    macro body (an indented line, which the scanner still reads, e.g. as test_##name ->
    an empty name), no empty or duplicate name, and ``expected`` all found."""
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if re.match(r"^\s+ZTEST(_F|_USER|_USER_F)?\(", line):
            raise ZephyrCheckError(
                f"{path}:{number}: indented ZTEST( line (a macro body?): twister reads it"
                f" as a test case: {line.strip()}"
            )
    raw = [m["testcase_name"].decode() for m in ZTEST_CASE.finditer(path.read_bytes())]
    unprefixed = [n for n in raw if not n.startswith("test_")]
    if unprefixed:
        # twister: "Found a test that does not start with test_" fails the scan.
        raise ZephyrCheckError(f"{path}: test names without the test_ prefix: {unprefixed}")
    names = twister_ztest_names(path)
    bad = [n for n in names if not re.fullmatch(r"[a-z0-9][a-z0-9_]*", n)]
    if bad:
        raise ZephyrCheckError(f"{path}: test names twister cannot use: {bad}")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ZephyrCheckError(f"{path}: duplicate test names: {duplicates}")
    missing = [n for n in expected if n not in names]
    if missing:
        raise ZephyrCheckError(f"{path}: twister finds no test case for {', '.join(missing)}")
    return names


# --- west.yml comments ---------------------------------------------------------------

# Zephyr v4.2.0 migration guide, "Modules > CMSIS": Cortex-M boards and SoCs need the
# CMSIS_6 module from v4.2.0 on (before, the cmsis module with CMSIS 5.9.0); Cortex-A
# and Cortex-R keep using cmsis.
CMSIS_6_SINCE = "4.2"


def check_west_comments(path: Path) -> None:
    """The comment above cmsis_6 in the allowlist names the release that made Cortex-M
    use it."""
    lines = path.read_text().splitlines()
    try:
        at = next(i for i, line in enumerate(lines) if line.strip() == "- cmsis_6")
    except StopIteration:
        raise ZephyrCheckError(f"{path}: no cmsis_6 in the allowlist") from None
    comment = []
    for line in reversed(lines[:at]):
        if not line.strip().startswith("#"):
            break
        comment.insert(0, line.strip().lstrip("#").strip())
    text = " ".join(comment)
    releases = set(re.findall(r"Zephyr (?:v)?(\d+\.\d+)", text))
    if releases != {CMSIS_6_SINCE}:
        raise ZephyrCheckError(
            f"{path}: the cmsis_6 comment names Zephyr {', '.join(sorted(releases)) or 'no'}"
            f" release; Cortex-M moved to CMSIS_6 in Zephyr {CMSIS_6_SINCE}"
        )


# --- Kconfig values given on the CMake command line ----------------------------------


def cli_kconfig_after(runs: Sequence[tuple[Sequence[str], bool]]) -> dict[str, str]:
    """The CONFIG_* assignments Zephyr's kconfig.cmake applies on the last of ``runs``
    in one build directory. Each run is (CMake arguments, pristine). A -DCONFIG_X=v is
    applied and remembered in the cache as CLI_CONFIG_X when it survives Kconfig (a
    bool "n" does not: .config writes no CONFIG_X=n); a later run that does not give
    CONFIG_X applies the remembered value again. A pristine run forgets the cache."""
    cached: dict[str, str] = {}
    applied: dict[str, str] = {}
    for args, pristine in runs:
        if pristine:
            cached = {}
        given = {}
        for arg in args:
            m = re.match(r"^-D(CONFIG_[A-Za-z0-9_]+)=(.*)$", arg)
            if m:
                given[m[1]] = m[2]
        applied = {**cached, **given}
        cached = {k: v for k, v in applied.items() if v not in ("n", "")}
    return applied


def check_cli_kconfig_runs(runs: Sequence[tuple[Sequence[str], bool]]) -> None:
    """Each run of ``runs`` applies its own CONFIG_* arguments and nothing an earlier
    run left in the cache (a `tinytx build` is defined by its command line alone)."""
    for n in range(1, len(runs) + 1):
        own = cli_kconfig_after(runs[n - 1 : n])
        got = cli_kconfig_after(runs[:n])
        stale = {k: v for k, v in got.items() if own.get(k) != v}
        if stale:
            raise ZephyrCheckError(
                f"run {n}: Kconfig values of an earlier run stay in the CMake cache: "
                + ", ".join(f"{k}={v}" for k, v in sorted(stale.items()))
            )


def check_configure_depends(run: StubRun, required: Sequence[Path]) -> set[str]:
    """Every path of ``required`` is a CMake configure dependency of ``run`` (editing
    it re-runs CMake, and with it the generator that read it)."""
    deps = {a for args in run.args_of("CMAKE_CONFIGURE_DEPENDS") for a in args}
    missing = [str(p) for p in required if str(p) not in deps]
    if missing:
        raise ZephyrCheckError(
            f"CMake does not re-run when these change (CMAKE_CONFIGURE_DEPENDS): {missing}"
        )
    return deps
