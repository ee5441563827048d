"""Modelled cycles: per-instruction cost tables applied to translated blocks.

The tables live in ``cost_tables.yaml`` next to this module (one per CPU, with their
sources and assumptions). `CostModel.block` decodes one block of Thumb code with
capstone, puts every instruction in a class, and returns the block's static cost plus
the one dynamic term of the model: the pipeline refill paid when the block ends in a
conditional branch that is taken. The runner (`tinytx.toolchain.bench.runner`) calls it once per
translated block and caches the answer, so the per-block hook only adds integers.

Rules applied inside a block (each switched on or off per CPU by its table):

* class cost from ``cycles``; LDM/STM/PUSH/POP cost ``base + ceil(per_register * N)``;
* ``store_immediate``: a single store with an immediate offset (or none);
* ``load_pipelining``: a single load or store right after a single load costs 1, unless
  its address uses the register that load wrote;
* ``address_stall``: extra cycles for a load/store whose address uses the result of the
  instruction just before it, when that one is a data-processing instruction;
* ``pipeline_refill``: added to an unconditional write to PC, and to a conditional
  branch when it is taken (decided at run time by the runner);
* ``dual_issue``: greedy pairing of neighbouring single-cycle instructions whose classes
  are an allowed pair, when the second neither reads nor writes a register or flag
  the first writes.

Everything here is labelled *modelled*; only instruction counts are exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import capstone
import yaml
from capstone import arm as cs_arm

from tinytx.core.errors import TinytxError
from tinytx.core.resources import package_file

COST_TABLES = package_file("tinytx.toolchain.bench", "cost_tables.yaml")

_SINGLE_MEMORY = frozenset({"load", "store"})
_MEMORY = frozenset({"load", "store", "load_double", "store_double"})
_DATA_PROCESSING = frozenset({"alu", "simd", "mul", "div"})
_CONDITIONAL_BY_NAME = frozenset({"cbz", "cbnz"})
_FLAGS = "flags"


class CostModelError(TinytxError):
    """A cost table is malformed, or an executed instruction has no cost."""


@dataclass(frozen=True)
class CpuCosts:
    """One CPU's table from cost_tables.yaml."""

    cpu: str
    title: str
    sources: tuple[str, ...]
    assumptions: tuple[str, ...]
    cycles: dict[str, int]
    store_immediate: int
    multiple_base: int
    multiple_per_register: float
    pipeline_refill: int
    load_pipelining: bool
    address_stall: int
    dual_issue_pairs: frozenset[frozenset[str]] | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly description (used in the bench JSON and docs)."""
        return {
            "cpu": self.cpu,
            "title": self.title,
            "sources": list(self.sources),
            "assumptions": list(self.assumptions),
            "cycles": dict(self.cycles),
            "store_immediate": self.store_immediate,
            "multiple": {"base": self.multiple_base, "per_register": self.multiple_per_register},
            "pipeline_refill": self.pipeline_refill,
            "load_pipelining": self.load_pipelining,
            "address_stall": self.address_stall,
            "dual_issue_pairs": None
            if self.dual_issue_pairs is None
            else sorted(_pair_names(p) for p in self.dual_issue_pairs),
        }


def _pair_names(pair: frozenset[str]) -> list[str]:
    """``{"alu"}`` (a class paired with itself) -> ``["alu", "alu"]``."""
    names = sorted(pair)
    return names * 2 if len(names) == 1 else names


@dataclass(frozen=True)
class CostTables:
    classes: dict[str, str]  # instruction name -> class
    cpus: dict[str, CpuCosts]


def load_cost_tables(path: Path = COST_TABLES) -> CostTables:
    """Read and validate cost_tables.yaml."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise CostModelError(f"cannot read cost tables {path}: {exc}") from exc
    classes: dict[str, str] = {}
    for cls, names in data["classes"].items():
        for name in names:
            if name in classes:
                raise CostModelError(f"{path}: instruction {name!r} is in two classes")
            classes[name] = cls
    class_names = set(data["classes"]) - {"multiple"}
    cpus: dict[str, CpuCosts] = {}
    for cpu, t in data["cpus"].items():
        cycles = {str(k): int(v) for k, v in t["cycles"].items()}
        if set(cycles) != class_names:
            raise CostModelError(
                f"{path}: {cpu}: cycles must price exactly the classes "
                f"{', '.join(sorted(class_names))}"
            )
        pairs = None
        if t.get("dual_issue"):
            pairs = frozenset(frozenset(p) for p in t["dual_issue"]["pairs"])
            unknown = {c for p in pairs for c in p} - class_names
            if unknown:
                raise CostModelError(f"{path}: {cpu}: unknown classes in pairs: {unknown}")
        cpus[cpu] = CpuCosts(
            cpu=cpu,
            title=str(t["title"]),
            sources=tuple(str(s).strip() for s in t["sources"]),
            assumptions=tuple(str(s) for s in t.get("assumptions", ())),
            cycles=cycles,
            store_immediate=int(t["store_immediate"]),
            multiple_base=int(t["multiple"]["base"]),
            multiple_per_register=float(t["multiple"]["per_register"]),
            pipeline_refill=int(t["pipeline_refill"]),
            load_pipelining=bool(t["load_pipelining"]),
            address_stall=int(t["address_stall"]),
            dual_issue_pairs=pairs,
        )
    return CostTables(classes, cpus)


@dataclass(frozen=True)
class BlockCost:
    """Price of one translated block."""

    instructions: int
    cycles: int
    """Modelled cycles, static part (everything but a taken conditional branch's refill)."""
    taken_penalty: int
    """Refill cycles to add when the block's final conditional branch is taken, else 0."""
    fallthrough: int
    """Address after the block: the next block starts here when the branch is not taken."""


@dataclass(frozen=True)
class _Insn:
    name: str
    cls: str
    cycles: int
    reads: frozenset[str]
    writes: frozenset[str]
    address_regs: frozenset[str]
    loaded: frozenset[str]  # registers a load writes from memory (not its base write-back)
    writes_pc: bool
    conditional: bool


class CostModel:
    """Modelled cycles of blocks of Thumb code for one CPU (see the module docstring)."""

    def __init__(self, cpu: str, path: Path = COST_TABLES) -> None:
        tables = load_cost_tables(path)
        if cpu not in tables.cpus:
            raise CostModelError(
                f"no cost table for cpu {cpu!r} in {path} (have {', '.join(tables.cpus)})"
            )
        self.costs = tables.cpus[cpu]
        self._classes = tables.classes
        md = capstone.Cs(capstone.CS_ARCH_ARM, capstone.CS_MODE_THUMB | capstone.CS_MODE_MCLASS)
        md.detail = True
        self._md = md

    @property
    def cpu(self) -> str:
        return self.costs.cpu

    # ------------------------------------------------------------ decoding
    def _decode(self, code: bytes, address: int) -> list[_Insn]:
        md, costs = self._md, self.costs
        out: list[_Insn] = []
        end = address
        for insn in md.disasm(code, address):
            end = insn.address + insn.size
            name = insn.insn_name()
            cls = self._classes.get(name)
            if cls is None:
                raise CostModelError(
                    f"{costs.cpu}: instruction '{insn.mnemonic} {insn.op_str}' at "
                    f"0x{insn.address:08x} ({name!r}) is in no class of the cost table"
                )
            regs_read, regs_write = insn.regs_access()
            reads = {insn.reg_name(r) for r in regs_read}
            writes = {insn.reg_name(r) for r in regs_write}
            if "cpsr" in reads:
                reads.discard("cpsr")
                reads.add(_FLAGS)
            if "cpsr" in writes or insn.update_flags:
                writes.discard("cpsr")
                writes.add(_FLAGS)
            cc = insn.cc
            conditional = name in _CONDITIONAL_BY_NAME or cc not in (
                cs_arm.ARM_CC_AL,
                cs_arm.ARM_CC_INVALID,
            )
            if conditional and name not in _CONDITIONAL_BY_NAME:
                reads.add(_FLAGS)
            address_regs: set[str] = set()
            loaded: set[str] = set()
            immediate_offset = True
            for op in insn.operands:
                if op.type == cs_arm.ARM_OP_REG and cls in ("load", "load_double"):
                    loaded.add(insn.reg_name(op.reg))
                if op.type == cs_arm.ARM_OP_MEM:
                    for reg in (op.mem.base, op.mem.index):
                        if reg != cs_arm.ARM_REG_INVALID:
                            address_regs.add(insn.reg_name(reg))
                    if op.mem.index != cs_arm.ARM_REG_INVALID:
                        immediate_offset = False
            writes_pc = (
                "pc" in writes
                or insn.group(capstone.CS_GRP_JUMP)
                or insn.group(capstone.CS_GRP_CALL)
                or insn.group(capstone.CS_GRP_RET)
            )
            if cls == "multiple":
                regs = sum(1 for op in insn.operands if op.type == cs_arm.ARM_OP_REG)
                if name in ("ldm", "ldmdb", "stm", "stmdb"):
                    regs -= 1  # the first register operand is the base
                cycles = costs.multiple_base + math.ceil(costs.multiple_per_register * regs)
            elif cls == "store" and immediate_offset:
                cycles = costs.store_immediate
            else:
                cycles = costs.cycles[cls]
            out.append(
                _Insn(
                    name,
                    cls,
                    cycles,
                    frozenset(reads),
                    frozenset(writes),
                    frozenset(address_regs),
                    frozenset(loaded),
                    bool(writes_pc),
                    conditional,
                )
            )
        if end != address + len(code):
            raise CostModelError(
                f"{costs.cpu}: capstone cannot decode the code at 0x{end:08x} "
                f"(block 0x{address:08x}, {len(code)} bytes)"
            )
        return out

    # ------------------------------------------------------------- pricing
    def block(self, code: bytes, address: int) -> BlockCost:
        """Price the block of Thumb `code` that starts at `address`."""
        costs = self.costs
        insns = self._decode(code, address)
        per_insn: list[int] = []
        prev: _Insn | None = None
        for insn in insns:
            c = insn.cycles
            if prev is not None and insn.cls in _MEMORY:
                if (
                    costs.load_pipelining
                    and prev.cls == "load"
                    and not prev.writes_pc
                    and insn.cls in _SINGLE_MEMORY
                    and not (insn.address_regs & prev.loaded)
                ):
                    c = 1
                if (
                    costs.address_stall
                    and prev.cls in _DATA_PROCESSING
                    and insn.address_regs & prev.writes
                ):
                    c += costs.address_stall
            per_insn.append(c)
            prev = insn

        total = self._issue(insns, per_insn)
        taken_penalty = 0
        if insns and insns[-1].writes_pc:
            if insns[-1].conditional:
                taken_penalty = costs.pipeline_refill
            else:
                total += costs.pipeline_refill
        return BlockCost(len(insns), total, taken_penalty, address + len(code))

    def _issue(self, insns: list[_Insn], per_insn: list[int]) -> int:
        """Cycles to issue the block: the sum, less what dual issue saves."""
        pairs = self.costs.dual_issue_pairs
        if pairs is None:
            return sum(per_insn)
        total = 0
        i, n = 0, len(insns)
        while i < n:
            if i + 1 < n and self._pairs(insns[i], insns[i + 1], per_insn[i], per_insn[i + 1]):
                total += 1
                i += 2
            else:
                total += per_insn[i]
                i += 1
        return total

    def _pairs(self, first: _Insn, second: _Insn, c1: int, c2: int) -> bool:
        pairs = self.costs.dual_issue_pairs
        assert pairs is not None
        return (
            c1 == 1
            and c2 == 1
            and not first.writes_pc
            and frozenset((first.cls, second.cls)) in pairs
            and not (first.writes & (second.reads | second.writes))
        )
