"""Instruction budgets: the CI gate on kernel speed.

``tests/bench/budgets.json`` holds, per target, kernel variant, shape and kernel, a
budget of exact executed instructions. `check_budgets` fails a count that exceeds its
budget by more than `TOLERANCE` (2 %), and a count that has no budget. `update_budgets`
writes the counts of a run into the file (the other entries stay), which is how a
budget is lowered after a speed-up: a normal commit of the new file.

The ``models`` section holds, per target and kernel variant, a budget of the exact
instructions of one inference of each sample model (:mod:`tinytx.toolchain.bench.models`,
``tinytx bench --models --check-budget`` / ``--update-budget``), with the same tolerance.

Instruction counts depend on the compiler that built the kernels, so the file records
the compiler of each target (the first line of ``<gcc> --version``), and a run with
another compiler is refused with one line instead of failing like a regression.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinytx.core.atomic import write_text
from tinytx.core.errors import TinytxError
from tinytx.core.resources import firmware_tests_dir
from tinytx.toolchain.bench.run import BENCH_KERNELS, VariantRun

TOLERANCE = 0.02
FORMAT = 1
_ABOUT = (
    "Budgets of exact executed instructions per target, kernel variant, shape and kernel "
    "(tinytx bench, unicorn). `tinytx bench --check-budget` fails when a count exceeds its "
    "budget by more than 2 %; `tinytx bench --update-budget` rewrites the entries it measured. "
    "`models`: one inference of each sample model per target and kernel variant "
    "(`tinytx bench --models --check-budget`; re-record with `tinytx bench --models "
    "--update-budget`). `sparse`: the dense and sparse-weight calls of the sample models' "
    "pruned layers (`tinytx bench --sparse --check-budget`, which also fails below the "
    "minimum dense / sparse ratios of tinytx.toolchain.bench.sparse)."
)


class BudgetError(TinytxError):
    """The budget file cannot be read or does not fit the run."""


@dataclass(frozen=True)
class BudgetEntry:
    target: str
    variant: str
    shape: str
    kernel: str
    count: int
    budget: int | None

    @property
    def where(self) -> str:
        if self.shape == "whole model":
            return f"model {self.kernel}, target {self.target} ({self.variant})"
        return f"kernel {self.kernel}, shape {self.shape}, target {self.target} ({self.variant})"

    @property
    def excess(self) -> float:
        """Relative excess over the budget (0.05 = 5 % over); 0 for a missing budget."""
        return self.count / self.budget - 1.0 if self.budget else 0.0

    def message(self) -> str:
        if self.budget is None:
            return (
                f"no budget for {self.where}: {self.count:,} instructions "
                "(add one with --update-budget)"
            )
        return (
            f"over budget: {self.where}: {self.count:,} instructions, budget "
            f"{self.budget:,} (+{100 * self.excess:.2f} %, tolerance {100 * TOLERANCE:.0f} %)"
        )


@dataclass(frozen=True)
class BudgetCheck:
    path: Path
    entries: tuple[BudgetEntry, ...]

    @property
    def failures(self) -> list[BudgetEntry]:
        return [e for e in self.entries if e.budget is None or e.excess > TOLERANCE]

    @property
    def lowerable(self) -> list[BudgetEntry]:
        """Counts more than the tolerance below their budget: the budget can be lowered."""
        return [e for e in self.entries if e.budget is not None and e.excess < -TOLERANCE]

    @property
    def ok(self) -> bool:
        return not self.failures


def default_budget_file() -> Path:
    """The committed budgets (tests/bench/budgets.json), also shipped as package data."""
    return firmware_tests_dir() / "bench" / "budgets.json"


def load_budgets(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise BudgetError(
            f"budget file {path} does not exist (create it with --update-budget)"
        ) from None
    except (OSError, json.JSONDecodeError) as exc:
        raise BudgetError(f"cannot read budget file {path}: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BudgetError(f"{path}: not a tinytx budget file (format {FORMAT})")
    if not isinstance(data.get("budgets"), dict) or not isinstance(data.get("seed"), int):
        raise BudgetError(f"{path}: needs a 'seed' and a 'budgets' object")
    return data


def _check_seed(path: Path, data: dict[str, Any], seed: int) -> None:
    if data["seed"] != seed:
        raise BudgetError(
            f"{path}: budgets were recorded with --seed {data['seed']}, this run used {seed}"
        )


def check_file(path: Path, seed: int) -> None:
    """Raise `BudgetError` if `path` is not a budget file recorded with `seed`."""
    _check_seed(path, load_budgets(path), seed)


def _check_compiler(path: Path, data: dict[str, Any], target: str, compiler: str) -> None:
    recorded = data.get("compilers", {}).get(target)
    if recorded is None:
        raise BudgetError(
            f"{path}: no compiler recorded for target {target} "
            "(record its budgets with --update-budget)"
        )
    if recorded != compiler:
        raise BudgetError(
            f"{path}: the {target} budgets were recorded with {recorded!r}, this run was "
            f"built with {compiler!r}; counts of different compilers are not compared "
            "(install the recorded compiler, or record budgets for this one with "
            "--update-budget)"
        )


def check_budgets(path: Path, run: VariantRun, seed: int, compiler: str) -> BudgetCheck:
    """Compare every count of `run` (built with `compiler`) with its budget in `path`."""
    data = load_budgets(path)
    _check_seed(path, data, seed)
    _check_compiler(path, data, run.target, compiler)
    by_shape = data["budgets"].get(run.target, {}).get(run.variant, {})
    entries = []
    for shape in run.shapes:
        budgets = by_shape.get(shape.spec.name, {})
        for kernel in BENCH_KERNELS:
            budget = budgets.get(kernel)
            if budget is not None and (not isinstance(budget, int) or budget <= 0):
                raise BudgetError(
                    f"{path}: budget of {kernel}/{shape.spec.name}/{run.target}/{run.variant} "
                    f"must be a positive integer, not {budget!r}"
                )
            entries.append(
                BudgetEntry(
                    run.target,
                    run.variant,
                    shape.spec.name,
                    kernel,
                    shape.kernels[kernel].instructions,
                    budget,
                )
            )
    return BudgetCheck(path, tuple(entries))


def _open_for(path: Path, target: str, compiler: str, seed: int, check_seed: bool = False) -> dict:
    """The budgets file at `path` (a new one if missing), ready for `target`'s entries: a
    compiler other than the one the target's budgets were measured with drops all of
    them (kernels, whole models, sparse layers)."""
    if path.exists():
        data = load_budgets(path)
        if check_seed:
            _check_seed(path, data, seed)
    else:
        data = {"format": FORMAT, "seed": seed, "budgets": {}}
    data["about"] = _ABOUT
    compilers = data.setdefault("compilers", {})
    if compilers.get(target, compiler) != compiler:
        for section in ("budgets", "models", "sparse"):
            data.get(section, {}).pop(target, None)
    compilers[target] = compiler
    return data


def update_budgets(path: Path, run: VariantRun, seed: int, compiler: str) -> int:
    """Write the counts of `run` (built with `compiler`) as budgets into `path` (created
    if missing). Entries of other targets, variants and shapes are kept; another
    compiler for the target drops the target's old budgets. Returns the number written.
    """
    data = _open_for(path, run.target, compiler, seed, check_seed=True)
    by_shape = data["budgets"].setdefault(run.target, {}).setdefault(run.variant, {})
    n = 0
    for shape in run.shapes:
        by_shape[shape.spec.name] = {k: shape.kernels[k].instructions for k in BENCH_KERNELS}
        n += len(BENCH_KERNELS)
    _write(path, data)
    return n


def _write(path: Path, data: dict[str, Any]) -> None:
    ordered = {
        "about": data["about"],
        "format": FORMAT,
        "seed": data["seed"],
        "unit": "exact executed instructions",
        "compilers": dict(sorted(data.get("compilers", {}).items())),
        "budgets": _sorted(data["budgets"]),
    }
    if data.get("sparse"):
        ordered["sparse"] = {
            t: {v: {layer: dict(c) for layer, c in sorted(by_l.items())}
                for v, by_l in sorted(by_v.items())}
            for t, by_v in sorted(data["sparse"].items())
        }  # fmt: skip
    if data.get("models"):
        ordered["models"] = {
            t: {v: dict(sorted(m.items())) for v, m in sorted(by_v.items())}
            for t, by_v in sorted(data["models"].items())
        }
    write_text(path, json.dumps(ordered, indent=2) + "\n")


# ------------------------------------------------------------------ whole models
def check_model_budgets(
    path: Path, target: str, variant: str, counts: dict[str, int], compiler: str
) -> BudgetCheck:
    """Compare the whole-model `counts` (model -> instructions of one inference) of
    (`target`, `variant`), built with `compiler`, with the ``models`` section of `path`."""
    data = load_budgets(path)
    _check_compiler(path, data, target, compiler)
    budgets = data.get("models", {}).get(target, {}).get(variant, {})
    entries = []
    for model, count in counts.items():
        budget = budgets.get(model)
        if budget is not None and (not isinstance(budget, int) or budget <= 0):
            raise BudgetError(
                f"{path}: budget of model {model}/{target}/{variant} must be a positive "
                f"integer, not {budget!r}"
            )
        entries.append(BudgetEntry(target, variant, "whole model", model, count, budget))
    return BudgetCheck(path, tuple(entries))


def update_model_budgets(
    path: Path, target: str, variant: str, counts: dict[str, int], compiler: str, seed: int
) -> int:
    """Write whole-model `counts` as the budgets of (`target`, `variant`) into `path`
    (created if missing; everything else kept, as in `update_budgets`)."""
    data = _open_for(path, target, compiler, seed)
    data.setdefault("models", {}).setdefault(target, {})[variant] = dict(counts)
    _write(path, data)
    return len(counts)


def _sorted(budgets: dict[str, Any]) -> dict[str, Any]:
    """Targets, variants and shapes sorted by name; kernels in block order."""
    out: dict[str, Any] = {}
    for target in sorted(budgets):
        out[target] = {}
        for variant in sorted(budgets[target]):
            out[target][variant] = {}
            for shape in sorted(budgets[target][variant]):
                kernels = budgets[target][variant][shape]
                known = [k for k in BENCH_KERNELS if k in kernels]
                order = known + sorted(set(kernels) - set(BENCH_KERNELS))
                out[target][variant][shape] = {k: kernels[k] for k in order}
    return out


# ------------------------------------------------------------------ sparse weights
def check_sparse_budgets(
    path: Path, target: str, variant: str, counts: dict[str, dict[str, int]], compiler: str
) -> BudgetCheck:
    """Compare the sparse bench's `counts` (layer -> {"dense" or pattern: instructions}) of
    (`target`, `variant`) with the ``sparse`` section of `path`."""
    data = load_budgets(path)
    _check_compiler(path, data, target, compiler)
    budgets = data.get("sparse", {}).get(target, {}).get(variant, {})
    entries = []
    for layer, by_kernel in counts.items():  # instructions only (floors: sparse_floors)
        for kernel, count in by_kernel.items():
            budget = budgets.get(layer, {}).get(kernel)
            if budget is not None and (not isinstance(budget, int) or budget <= 0):
                raise BudgetError(
                    f"{path}: sparse budget {layer}/{kernel}/{target}/{variant} must be a "
                    f"positive integer, not {budget!r}"
                )
            entries.append(
                BudgetEntry(target, variant, f"sparse layer {layer}", kernel, count, budget)
            )
    return BudgetCheck(path, tuple(entries))


def sparse_floors(path: Path, target: str, variant: str) -> dict[str, dict[str, float]]:
    """The recorded ratio floors (layer -> {min_ratio_<pattern>: floor}) of the sparse
    section: every non-integer entry of a layer."""
    layers = load_budgets(path).get("sparse", {}).get(target, {}).get(variant, {})
    return {
        layer: {k: float(v) for k, v in entries.items() if not isinstance(v, int)}
        for layer, entries in layers.items()
    }


def update_sparse_budgets(
    path: Path,
    target: str,
    variant: str,
    counts: dict[str, dict[str, int | float]],
    compiler: str,
    seed: int,
) -> int:
    """Write the sparse bench's `counts` (with the ratio floors) as the budgets of
    (`target`, `variant`)."""
    data = _open_for(path, target, compiler, seed)
    data.setdefault("sparse", {}).setdefault(target, {})[variant] = {
        layer: dict(c) for layer, c in counts.items()
    }
    _write(path, data)
    return sum(len(c) for c in counts.values())
