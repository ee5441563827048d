"""Static memory planning: tensor lifetimes, one arena, and the MHSA tiling choice.

- :mod:`tinytx.core.plan.schedule`: the generic schedule the planner takes (buffers, steps in
  execution order, graph inputs and outputs), independent of any model format;
- :mod:`tinytx.core.plan.arena`: lifetimes and offset assignment into one arena
  (:func:`~tinytx.core.plan.arena.plan_arena`);
- :mod:`tinytx.core.plan.scratch`: every kernel call's scratch size and the attention
  scratch layouts, asked from the C (:mod:`tinytx.core.kernel_abi`) for a kernel variant
  and the cores the firmware runs it on;
- :mod:`tinytx.core.plan.mhsa`: the MHSA schedules (layer-wise, depth-first tiled), their
  closed-form peaks for every tile size, and the choice of the tile size for a RAM budget;
- :mod:`tinytx.core.plan.fwsa`: the fused-weight attention decision and weight fusion;
- :mod:`tinytx.core.plan.budget`: the RAM budget of a board for the arena;
- :mod:`tinytx.core.plan.choose`: the one chooser of attention schedules (fastest that fits),
  for whole models and single blocks;
- :mod:`tinytx.core.plan.costs`: the attention kernels' instruction-count formulas it prices
  with (``attention_costs.yaml``).

Every figure is in bytes; see docs/memory-planning.md.
"""

from tinytx.core.plan.arena import ArenaPlan, plan_arena
from tinytx.core.plan.schedule import Buffer, Schedule, Step

__all__ = ["ArenaPlan", "Buffer", "Schedule", "Step", "plan_arena"]
