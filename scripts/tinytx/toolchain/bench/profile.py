"""Per-layer profile of one ``tinytx_<model>_run`` call: exact instructions and modelled
cycles of every kernel call of the generated schedule, in call order.

The code generator lists, as data, what the run function calls for each layer
(:class:`tinytx.core.codegen.model.KernelCall`: a scratch check's ``*_get_buffer_size``, then
the kernel, once per image in a loop). `ProfilingRunner` counts like
:class:`~tinytx.toolchain.bench.runner.CostedRunner` and attributes every executed block:

* a block inside the run function's own code goes to the run function;
* a block outside it that is entered right after a block of the run function starts the
  next C call of the list: its address must be that function's entry (anything else stops
  the profile with an error naming both), and it and every block until control comes
  back to the run function go to that call's layer.

Callees of a kernel never return into the run function's range, so the attribution is
exact: the layers' instructions plus the run function's own add up to the instructions
of the whole call (the profile checks it). A taken branch's refill cycles go to the
owner of the block that branched.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinytx.core.boards import BoardClock as Clock
from tinytx.core.codegen.model import KernelCall
from tinytx.core.errors import TinytxError
from tinytx.toolchain.bench.costs import CostModel
from tinytx.toolchain.bench.runner import _RETURN_BLOCK, CostedRunner

SCHEMA = "tinytx-profile/1"


class ProfileError(TinytxError):
    """The run function called something other than the generated schedule says."""


@dataclass(frozen=True)
class LayerProfile:
    layer: str
    function: str
    macs: int
    calls: int  # C calls made for this layer (scratch check, kernel once per image)
    instructions: int
    modelled_cycles: int
    weights: str = ""  # the layer's weights storage: "sparse block4 (...)"; "" dense

    @property
    def macs_per_instruction(self) -> float:
        return self.macs / self.instructions if self.instructions else 0.0


@dataclass(frozen=True)
class ModelProfile:
    model: str
    function: str
    cpu: str
    layers: tuple[LayerProfile, ...]
    own_instructions: int  # the run function's own code (argument checks, loops, calls)
    own_cycles: int
    instructions: int  # the whole call
    modelled_cycles: int
    clock: Clock | None = None

    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    def share(self, instructions: int) -> float:
        return instructions / self.instructions if self.instructions else 0.0

    @property
    def latency_s(self) -> float | None:
        return None if self.clock is None else self.modelled_cycles / self.clock.core_hz

    @property
    def energy_j(self) -> float | None:
        t = self.latency_s
        if t is None or self.clock is None:
            return None
        return self.clock.supply_v * self.clock.run_current_ma * 1e-3 * t

    def as_json(self, target: str = "", kernels: str = "") -> dict[str, Any]:
        """The ``--profile-json`` document (schema in docs/user-guide.md)."""
        estimate = None
        if self.clock is not None:
            c = self.clock
            estimate = {
                "board": c.board,
                "core_hz": c.core_hz,
                "flash_wait_states": c.flash_wait_states,
                "run_current_ma": c.run_current_ma,
                "supply_v": c.supply_v,
                "source": c.source,
                "latency_ms": round(1e3 * (self.latency_s or 0.0), 6),
                "energy_uj": round(1e6 * (self.energy_j or 0.0), 6),
                "note": "estimates: modelled cycles / core clock (zero wait states assumed); "
                "energy = supply V x run current x latency",
            }
        return {
            "schema": SCHEMA,
            "model": self.model,
            "function": self.function,
            "target": target,
            "cpu": self.cpu,
            "kernels": kernels,
            "instructions": self.instructions,
            "modelled_cycles": self.modelled_cycles,
            "macs": self.macs,
            "run_function": {
                "instructions": self.own_instructions,
                "modelled_cycles": self.own_cycles,
                "share": round(self.share(self.own_instructions), 6),
            },
            "layers": [
                {
                    "index": i,
                    "layer": p.layer,
                    "function": p.function,
                    "calls": p.calls,
                    "macs": p.macs,
                    "instructions": p.instructions,
                    "macs_per_instruction": round(p.macs_per_instruction, 6),
                    "share": round(self.share(p.instructions), 6),
                    "modelled_cycles": p.modelled_cycles,
                    "weights": p.weights or "dense",
                }
                for i, p in enumerate(self.layers)
            ],
            "estimate": estimate,
        }

    def table(self) -> list[str]:
        """The text form ``tinytx run --profile`` prints."""
        head = (
            f"{'#':>3} {'layer':<14} {'kernel':<28} {'MACs':>10} {'instructions':>13} "
            f"{'MAC/instr':>9} {'share':>6} {'mod. cycles':>12}"
        )
        lines = [
            f"profile of one {self.function} call ({self.cpu}; instructions exact, unicorn; "
            "cycles modelled):",
            head,
        ]
        for i, p in enumerate(self.layers):
            ratio = f"{p.macs_per_instruction:.2f}" if p.macs else "-"
            lines.append(
                f"{i:>3} {p.layer:<14} {p.function:<28} {p.macs:>10,} {p.instructions:>13,} "
                f"{ratio:>9} {100 * self.share(p.instructions):>5.1f}% {p.modelled_cycles:>12,}"
                + (f"  weights: {p.weights}" if p.weights else "")
            )
        lines.append(
            f"{'':>3} {'(run function)':<14} {self.function:<28} {'':>10} "
            f"{self.own_instructions:>13,} {'':>9} "
            f"{100 * self.share(self.own_instructions):>5.1f}% {self.own_cycles:>12,}"
        )
        lines.append(
            f"{'':>3} {'total':<14} {'':<28} {self.macs:>10,} {self.instructions:>13,} "
            f"{self.macs / max(self.instructions, 1):>9.2f} {100.0:>5.1f}% "
            f"{self.modelled_cycles:>12,}"
        )
        if self.clock is not None and self.latency_s is not None and self.energy_j is not None:
            c = self.clock
            lines.append(
                f"estimate at the {c.board} clock ({c.core_hz / 1e6:g} MHz, "
                f"{c.run_current_ma:g} mA run current at {c.supply_v:g} V, {c.source}): latency "
                f"{1e3 * self.latency_s:.3f} ms = modelled cycles / clock, energy "
                f"{1e6 * self.energy_j:.1f} uJ = V x I x t (estimates, not measured; the cost "
                f"table assumes zero wait states, the board's flash has {c.flash_wait_states})"
            )
        return lines


class ProfilingRunner(CostedRunner):
    """`CostedRunner` whose block hook also attributes every block to a layer."""

    def __init__(self, elf_path: str | Path, model: CostModel, scratch_size: int = 1 << 20) -> None:
        # [run lo, run hi, previous block inside run?, call index, expected entries,
        #  layer of each call, instructions per owner, cycles per owner, previous owner,
        #  first wrong call (index, address) or None]; owner 0 is the run function
        self._prof: list[Any] = [None]
        super().__init__(elf_path, model, scratch_size)

    def _make_block_hook(self) -> Callable[[Any, int, int, Any], None]:
        base = super()._make_block_hook()
        cache: dict[int, Any] = self._block_counts  # type: ignore[assignment]
        cost = self._cost_state
        prof = self._prof
        return_address = self._return_address

        def on_block(uc: Any, address: int, size: int, user_data: Any) -> None:
            penalty = cost[1] if cost[1] and address != cost[2] else 0
            base(uc, address, size, user_data)
            if prof[0] is None or address == return_address:
                return
            block = cache.get((address << 16) | size)
            if block is None or block is _RETURN_BLOCK:
                return
            inside = prof[0] <= address < prof[1]
            if inside:
                owner = 0
            else:
                if prof[2]:  # entered from the run function: its next call
                    i = prof[3]
                    entries = prof[4]
                    if prof[9] is None and (i >= len(entries) or entries[i] != address):
                        prof[9] = (i, address)
                    prof[3] = i + 1
                calls = prof[3] - 1
                layer_of = prof[5]
                owner = layer_of[calls] + 1 if 0 <= calls < len(layer_of) else len(prof[6]) - 1
            prof[2] = inside
            prof[6][owner] += block.instructions
            prof[7][owner] += block.cycles
            if penalty:
                prof[7][prof[8]] += penalty
            prof[8] = owner

        return on_block

    def profile(
        self,
        function: str,
        args: Sequence[int],
        calls: Sequence[KernelCall],
        cpu: str,
        prologue: Sequence[str] = (),
    ) -> tuple[ModelProfile, int]:
        """Call the run `function` once; its profile and return value. ``prologue``: what
        it calls before the first layer (counted as the run function's own)."""
        sym = self._symbols.get(function)
        if sym is None or not sym.is_function or sym.size <= 0:
            raise ProfileError(f"{function}: no sized function symbol in {self.elf_path}")
        entries = [self.symbol(name) for name in prologue]
        layer_of = [-1] * len(prologue)  # owner 0: the run function
        for i, kc in enumerate(calls):
            for name in kc.calls:
                entries.append(self.symbol(name))
                layer_of.append(i)
        names = [*prologue, *(name for kc in calls for name in kc.calls)]
        owners = len(calls) + 2  # run function, layers, and a bin for calls past the list
        self._prof[:] = [sym.address, sym.address + sym.size, False, 0, entries, layer_of,
                         [0] * owners, [0] * owners, 0, None]  # fmt: skip
        try:
            m = self.measure(function, args)
        finally:
            state = list(self._prof)
            self._prof[:] = [None]
        made, wrong = state[3], state[9]
        if wrong is not None:
            i, address = wrong
            want = names[i] if i < len(names) else "nothing more"
            raise ProfileError(
                f"{function}: call {i + 1} went to {self._where(address)}, the generated "
                f"schedule says {want}"
            )
        if made != len(entries):
            raise ProfileError(
                f"{function}: made {made} calls, the generated schedule lists {len(entries)}"
            )
        instr, cycles = state[6], state[7]
        layers = tuple(
            LayerProfile(kc.layer, kc.function, kc.macs, len(kc.calls), instr[i + 1],
                         cycles[i + 1], kc.weights)
            for i, kc in enumerate(calls)
        )  # fmt: skip
        prof = ModelProfile(
            model=function.removeprefix("tinytx_").removesuffix("_run"),
            function=function,
            cpu=cpu,
            layers=layers,
            own_instructions=instr[0],
            own_cycles=cycles[0],
            instructions=m.instructions,
            modelled_cycles=m.modelled_cycles,
        )
        if sum(instr) != m.instructions or sum(cycles) != m.modelled_cycles:
            raise ProfileError(
                f"{function}: the layers add up to {sum(instr):,} instructions and "
                f"{sum(cycles):,} cycles, the call took {m.instructions:,} and "
                f"{m.modelled_cycles:,}"
            )
        return prof, m.return_value
