"""The generic schedule the planner takes: buffers, steps in execution order, graph I/O.

A :class:`Schedule` says nothing about operators: a step reads some buffers, writes
some, may need scratch memory for its own duration, and may allow an output to take
the memory of an input it reads for the last time (``inplace``). The ONNX frontend
builds one from its IR; :mod:`tinytx.core.plan.mhsa` builds the MHSA ones.

Lifetimes (step indices, inclusive): a graph input is live from before the first step
(-1: the caller writes it), any other buffer from the first step that writes it; a graph
output stays live after the last step (``len(steps)``: the caller reads it), any other
buffer until the last step that reads (or writes) it.
"""

from __future__ import annotations

from dataclasses import dataclass


def _check_name(name: object, what: str) -> str:
    if not isinstance(name, str) or not name:
        raise ValueError(f"{what}: expected a non-empty name, got {name!r}")
    return name


def _check_align(align: object, what: str) -> int:
    if isinstance(align, bool) or not isinstance(align, int) or align < 1 or align & (align - 1):
        raise ValueError(f"{what}: alignment must be a power of two >= 1, got {align!r}")
    return align


@dataclass(frozen=True)
class Buffer:
    """One activation tensor of ``size`` bytes whose offset must be a multiple of ``align``."""

    name: str
    size: int
    align: int = 1

    def __post_init__(self) -> None:
        _check_name(self.name, "buffer")
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 1:
            raise ValueError(f"buffer {self.name}: size must be an integer >= 1, got {self.size!r}")
        _check_align(self.align, f"buffer {self.name}")


@dataclass(frozen=True)
class Step:
    """One kernel call. ``inplace`` lists ``(read, write)`` pairs where the kernel allows
    the written buffer to occupy the memory of the read one (used only when this step is
    the read buffer's last use). ``scratch`` bytes live for this step only."""

    name: str
    reads: tuple[str, ...]
    writes: tuple[str, ...]
    inplace: tuple[tuple[str, str], ...] = ()
    scratch: int = 0
    scratch_align: int = 4

    def __post_init__(self) -> None:
        _check_name(self.name, "step")
        if isinstance(self.scratch, bool) or not isinstance(self.scratch, int) or self.scratch < 0:
            raise ValueError(f"step {self.name}: scratch must be an integer >= 0")
        _check_align(self.scratch_align, f"step {self.name} scratch")
        if not self.writes:
            raise ValueError(f"step {self.name}: writes no buffer")
        for r, w in self.inplace:
            if r not in self.reads or w not in self.writes:
                raise ValueError(
                    f"step {self.name}: in-place pair ({r}, {w}) must be (a read, a write)"
                )


@dataclass(frozen=True)
class Schedule:
    buffers: tuple[Buffer, ...]
    steps: tuple[Step, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]

    def __post_init__(self) -> None:
        names = [b.name for b in self.buffers]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"schedule: buffer names used twice: {', '.join(sorted(dup))}")
        steps = [s.name for s in self.steps]
        dup = {n for n in steps if steps.count(n) > 1}
        if dup:
            raise ValueError(f"schedule: step names used twice: {', '.join(sorted(dup))}")
        known = set(names)
        for what, ref in [("input", n) for n in self.inputs] + [
            ("output", n) for n in self.outputs
        ]:
            if ref not in known:
                raise ValueError(f"schedule: {what} {ref!r} is not a declared buffer")
        written = set(self.inputs)
        for step in self.steps:
            for ref in (*step.reads, *step.writes):
                if ref not in known:
                    raise ValueError(f"step {step.name}: buffer {ref!r} is not declared")
            for ref in step.reads:
                if ref not in written:
                    raise ValueError(f"step {step.name}: reads {ref!r} before any step writes it")
            for ref in step.writes:
                if ref in self.inputs:
                    raise ValueError(f"step {step.name}: writes the graph input {ref!r}")
            written.update(step.writes)
        unused = known - written
        if unused:
            raise ValueError(f"schedule: buffers never written: {', '.join(sorted(unused))}")
        for ref in self.outputs:
            if ref not in written:
                raise ValueError(f"schedule: output {ref!r} is never written")

    def buffer(self, name: str) -> Buffer:
        for b in self.buffers:
            if b.name == name:
                return b
        raise KeyError(name)

    def lifetimes(self) -> dict[str, tuple[int, int]]:
        """``name -> (first, last)`` step indices, inclusive (see the module docstring)."""
        n = len(self.steps)
        first: dict[str, int] = {name: -1 for name in self.inputs}
        last: dict[str, int] = {name: -1 for name in self.inputs}
        for i, step in enumerate(self.steps):
            for ref in step.writes:
                first.setdefault(ref, i)
                last[ref] = max(last.get(ref, i), i)
            for ref in step.reads:
                last[ref] = max(last[ref], i)
        for ref in self.outputs:
            last[ref] = n
        return {b.name: (first[b.name], last[b.name]) for b in self.buffers}
