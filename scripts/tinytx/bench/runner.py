"""Exact instructions and modelled cycles of one function call, in one block hook.

`CostedRunner` is an `ArmFunctionRunner` whose block hook, besides the exact instruction
count, adds each translated block's modelled cycles. The price of a block (a
`tinytx.bench.costs.BlockCost`) is computed once per ``(address, size)`` and cached in
the runner's block cache, so entering a block costs one dictionary look-up and a few
integer additions, as for plain counting. The only dynamic part of the model, the
refill of a taken conditional branch, is settled when the next block is entered: the
branch was taken when that block does not start where the previous one ended.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinytx.bench.costs import BlockCost, CostModel
from tinytx.emu.unicorn_arm import ArmFunctionRunner


@dataclass(frozen=True)
class Measurement:
    """One call: its return value, exact instructions and modelled cycles."""

    return_value: int
    instructions: int
    modelled_cycles: int


_RETURN_BLOCK = BlockCost(0, 0, 0, -1)


class CostedRunner(ArmFunctionRunner):
    """`ArmFunctionRunner` that also accumulates modelled cycles (see the module doc)."""

    def __init__(self, elf_path: str | Path, model: CostModel, scratch_size: int = 1 << 20) -> None:
        self.model = model
        # modelled cycles so far, pending taken-branch penalty, fall-through of that branch
        self._cost_state = [0, 0, -1]
        super().__init__(elf_path, cpu=model.cpu, scratch_size=scratch_size)

    def _make_block_hook(self) -> Callable[[Any, int, int, Any], None]:
        # Replaces the base class's counting hook: same counting, same cache (cleared by
        # the base class whenever code may have changed), plus the cost model.
        cache: dict[int, Any] = self._block_counts  # type: ignore[assignment]
        state = self._state
        cost = self._cost_state
        uc = self._uc
        return_address = self._return_address
        model = self.model

        def on_block(_uc: Any, address: int, size: int, _user_data: Any) -> None:
            key = (address << 16) | size
            block = cache.get(key)
            if block is None:
                try:
                    if address == return_address:
                        block = _RETURN_BLOCK
                    else:
                        block = model.block(bytes(uc.mem_read(address, size)), address)
                except Exception as exc:  # reported by call(); must not escape into C
                    self._hook_error = exc
                    uc.emu_stop()
                    return
                cache[key] = block
            count = state[0] + block.instructions
            if count > state[1]:
                self._overrun = True
                uc.emu_stop()
                return
            state[0] = count
            cycles = cost[0] + block.cycles
            if cost[1] and address != cost[2]:
                cycles += cost[1]  # the previous block's conditional branch was taken
            cost[0] = cycles
            cost[1] = block.taken_penalty
            cost[2] = block.fallthrough

        return on_block

    def measure(
        self, function: str, args: Sequence[int], max_instructions: int = 2_000_000_000
    ) -> Measurement:
        """`call` `function` and return its exact instructions and modelled cycles."""
        self._cost_state[:] = [0, 0, -1]
        result = self.call(function, args, max_instructions)
        return Measurement(result.return_value, result.instructions, self._cost_state[0])
