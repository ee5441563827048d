"""Board memory data, read from boards/boards.yaml.

A board lists the memories a firmware may occupy (flash and RAM, each with a base
address and a size), an optional weights partition (where ``tinytx weights-hex``
writes a weights image), and, for the emulated profiles, the QEMU target that runs
them and the memory their firmware is linked with.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tinytx.core.errors import UserInputError
from tinytx.core.resources import boards_dir

KINDS = ("flash", "ram")
ARCHES = ("arm", "riscv")


@dataclass(frozen=True)
class MemoryRegion:
    name: str
    kind: str  # "flash" or "ram"
    address: int | None  # None: not in the CPU's address map (e.g. GAP9's MRAM)
    size: int
    aliases: tuple[int, ...] = ()

    @property
    def windows(self) -> tuple[int, ...]:
        """Every base address at which this memory is reachable."""
        return (() if self.address is None else (self.address,)) + self.aliases

    def base_of(self, address: int) -> int | None:
        """The base of the window that contains ``address``, if any."""
        for base in self.windows:
            if base <= address < base + self.size:
                return base
        return None


@dataclass(frozen=True)
class Partition:
    address: int
    size: int

    @property
    def end(self) -> int:
        return self.address + self.size

    def overlaps(self, start: int, size: int) -> bool:
        return size > 0 and start < self.end and self.address < start + size


@dataclass(frozen=True)
class BoardClock:
    """A real board's core clock, flash wait states at that clock and typical run-mode
    current (boards.yaml ``clock``): the basis of latency and energy *estimates*."""

    board: str
    core_hz: int
    flash_wait_states: int
    run_current_ma: float
    supply_v: float
    source: str


@dataclass(frozen=True)
class Board:
    name: str
    description: str
    arch: str  # "arm" or "riscv"
    memory: tuple[MemoryRegion, ...]
    cpu: str | None = None
    soc: str | None = None
    weights_partition: Partition | None = None
    target: str | None = None  # emulated profiles: the QEMU target (boards/targets.yaml)
    emulates: str | None = None  # emulated profiles: the real board they mirror
    link: dict[str, int] | None = None  # emulated profiles: picolibc __flash/__ram values
    clock: BoardClock | None = None  # real boards: clock and run current (estimates)
    cores: int = 1  # cores the kernels run on (tinytx_parallel_num_cores() of its firmware)

    def regions(self, kind: str) -> tuple[MemoryRegion, ...]:
        return tuple(r for r in self.memory if r.kind == kind)

    @property
    def flash_size(self) -> int:
        return sum(r.size for r in self.regions("flash"))

    @property
    def ram_size(self) -> int:
        return sum(r.size for r in self.regions("ram"))

    def region_at(self, address: int) -> MemoryRegion | None:
        for region in self.memory:
            if region.base_of(address) is not None:
                return region
        return None

    def build_target(self):
        """The emulation target of this profile, linked with the profile's memory."""
        from tinytx.core.targets import get_target

        if self.target is None or self.link is None:
            raise UserInputError(
                f"board: {self.name} is not an emulated profile (no target/link in boards.yaml)"
            )
        return dataclasses.replace(get_target(self.target), memory=dict(self.link))


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UserInputError(f"{what}: expected a non-negative integer, got {value!r}")
    return value


def _region(board: str, raw: Any) -> MemoryRegion:
    if not isinstance(raw, dict) or "name" not in raw:
        raise UserInputError(f"board {board}: each memory entry needs a name, got {raw!r}")
    what = f"board {board}, memory {raw['name']}"
    kind = raw.get("kind")
    if kind not in KINDS:
        raise UserInputError(f"{what}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    address = raw.get("address")
    return MemoryRegion(
        name=str(raw["name"]),
        kind=kind,
        address=None if address is None else _int(address, f"{what}: address"),
        size=_int(raw.get("size"), f"{what}: size"),
        aliases=tuple(_int(a, f"{what}: alias") for a in raw.get("aliases", ())),
    )


def _board(name: str, raw: Any) -> Board:
    if not isinstance(raw, dict):
        raise UserInputError(f"board {name}: expected a mapping, got {raw!r}")
    arch = raw.get("arch")
    if arch not in ARCHES:
        raise UserInputError(f"board {name}: arch must be one of {', '.join(ARCHES)}, got {arch!r}")
    memory = tuple(_region(name, r) for r in raw.get("memory") or ())
    if not memory:
        raise UserInputError(f"board {name}: no memory listed")
    part = raw.get("weights_partition")
    partition = None
    if part is not None:
        partition = Partition(
            _int(part.get("address"), f"board {name}: weights_partition address"),
            _int(part.get("size"), f"board {name}: weights_partition size"),
        )
    link = raw.get("link")
    if link is not None:
        link = {
            k: _int(link.get(k), f"board {name}: link {k}")
            for k in ("flash", "flash_size", "ram", "ram_size")
        }
    cores = raw.get("cores", 1)
    if isinstance(cores, bool) or not isinstance(cores, int) or cores < 1:
        raise UserInputError(f"board {name}: cores must be an integer >= 1, got {cores!r}")
    clock = None
    raw_clock = raw.get("clock")
    if raw_clock is not None:
        what = f"board {name}: clock"
        try:
            clock = BoardClock(
                board=name,
                core_hz=_int(raw_clock["core_hz"], f"{what} core_hz"),
                flash_wait_states=_int(raw_clock["flash_wait_states"], f"{what} flash_wait_states"),
                run_current_ma=float(raw_clock["run_current_ma"]),
                supply_v=float(raw_clock["supply_v"]),
                source=str(raw_clock["source"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise UserInputError(
                f"{what}: needs core_hz, flash_wait_states, run_current_ma, supply_v and "
                f"source ({exc})"
            ) from None
    return Board(
        name=name,
        description=str(raw.get("description", name)),
        arch=arch,
        memory=memory,
        cpu=raw.get("cpu"),
        soc=raw.get("soc"),
        weights_partition=partition,
        target=raw.get("target"),
        emulates=raw.get("emulates"),
        link=link,
        clock=clock,
        cores=cores,
    )


def boards_file() -> Path:
    return boards_dir() / "boards.yaml"


def load_boards(path: Path | None = None) -> dict[str, Board]:
    path = path or boards_file()
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict) or not isinstance(data.get("boards"), dict):
        raise UserInputError(f"{path}: expected a top-level 'boards' mapping")
    return {name: _board(name, raw) for name, raw in data["boards"].items()}


def get_board(name: str) -> Board:
    boards = load_boards()
    if name not in boards:
        raise UserInputError(f"board: unknown board {name!r}; known: {', '.join(boards)}")
    return boards[name]


def clock_of(board_name: str | None, target_name: str | None = None) -> BoardClock | None:
    """The clock estimates use: a real board's own; an emulated profile's is that of the
    board it emulates; a bare emulated target's (``m4``) that of the board its profile
    emulates (None when there is none, or several)."""
    boards = load_boards()
    board = boards.get(board_name) if board_name else None
    if board is None and target_name:
        profiles = [b for b in boards.values() if b.target == target_name and b.emulates]
        board = profiles[0] if len(profiles) == 1 else None
    if board is not None and board.clock is None and board.emulates:
        board = boards.get(board.emulates)
    return None if board is None else board.clock


def emulated_profile(name: str) -> Board:
    """The emulated profile ``--board name`` runs: the profile itself (``*_emu``), or the
    one profile of boards.yaml that ``emulates`` the real board ``name``."""
    board = get_board(name)
    if board.target is not None:
        return board
    boards = load_boards()
    profiles = [b for b in boards.values() if b.target is not None and b.emulates == name]
    if len(profiles) == 1:
        return profiles[0]
    have = ", ".join(f"{b.emulates} ({b.name})" for b in boards.values() if b.target and b.emulates)
    if profiles:
        several = ", ".join(b.name for b in profiles)
        raise UserInputError(f"--board: {name} has several emulated profiles ({several}): name one")
    hint = (
        " (an 8-core RISC-V run without board limits: --target rv32x8)"
        if (board.arch == "riscv" and board.cores > 1)
        else ""
    )
    raise UserInputError(
        f"--board: {name} has no emulated profile and tinytx has no runner for the board "
        f"itself; boards that run emulated: {have}{hint}"
    )
