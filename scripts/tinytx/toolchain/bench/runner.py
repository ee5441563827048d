"""Exact instructions and modelled cycles of one function call, in one block hook.

`CostedRunner` is an `ArmFunctionRunner` whose block hook, besides the exact instruction
count, adds each translated block's modelled cycles. The price of a block (a
`tinytx.toolchain.bench.costs.BlockCost`) is computed once per ``(address, size)`` and cached in
the runner's block cache, so entering a block costs one dictionary look-up and a few
integer additions, as for plain counting. The only dynamic part of the model, the
refill of a taken conditional branch, is settled when the next block is entered: the
branch was taken when that block does not start where the previous one ended.

`measure` can also split the count by *stage* (``stages``: entry address -> label):
every executed block is attributed to the innermost stage function on a shadow call
stack (a block at a stage's entry pushes it with the caller's return address from LR;
the block at that return address pops it), else to `OTHER_STAGE`. The split is exact:
the stages add up to the instructions of the call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from unicorn import arm_const

from tinytx.toolchain.bench.costs import BlockCost, CostModel
from tinytx.toolchain.emu.unicorn_arm import ArmFunctionRunner

#: Label of the instructions outside every stage function (the caller's own code).
OTHER_STAGE = "other"


@dataclass(frozen=True)
class Measurement:
    """One call: its return value, exact instructions and modelled cycles."""

    return_value: int
    instructions: int
    modelled_cycles: int
    stages: dict[str, int] | None = None  # exact instructions by stage, when asked for


_RETURN_BLOCK = BlockCost(0, 0, 0, -1)


class CostedRunner(ArmFunctionRunner):
    """`ArmFunctionRunner` that also accumulates modelled cycles (see the module doc)."""

    def __init__(self, elf_path: str | Path, model: CostModel, scratch_size: int = 1 << 20) -> None:
        self.model = model
        # modelled cycles so far, pending taken-branch penalty, fall-through of that branch
        self._cost_state = [0, 0, -1]
        # stage entries (None: no split), shadow stack of (return address, label), counts
        self._stage_state: list[Any] = [None, [], {}]
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
        stage = self._stage_state
        lr_reg = arm_const.UC_ARM_REG_LR

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
            entries = stage[0]
            if entries is not None:
                stack = stage[1]
                label = entries.get(address)
                if label is not None:
                    stack.append((uc.reg_read(lr_reg) & ~1, label))
                else:
                    while stack and stack[-1][0] == address:  # a tail call shares the return
                        stack.pop()
                top = stack[-1][1] if stack else OTHER_STAGE
                counts = stage[2]
                counts[top] = counts.get(top, 0) + block.instructions

        return on_block

    def measure(
        self,
        function: str,
        args: Sequence[int],
        max_instructions: int = 2_000_000_000,
        stages: Mapping[int, str] | None = None,
    ) -> Measurement:
        """`call` `function` and return its exact instructions and modelled cycles, and
        with `stages` (entry address -> label) the instructions by stage."""
        self._cost_state[:] = [0, 0, -1]
        self._stage_state[:] = [dict(stages) if stages else None, [], {}]
        try:
            result = self.call(function, args, max_instructions)
        finally:
            split = self._stage_state[2] if stages else None
            self._stage_state[:] = [None, [], {}]
        return Measurement(result.return_value, result.instructions, self._cost_state[0], split)
