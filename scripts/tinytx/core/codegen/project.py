"""``tinytx convert``: ONNX or TFLite -> IR -> plan -> C source and header (+ test data, plan).

:func:`convert` does the work in memory (frontend, planner, code generator, golden
executor for the test inputs); :meth:`Conversion.write` writes the files, named after
the model with ``--name`` (``kws.c``, ``kws.h``, ``kws_test_data.c/.h``), else
``model.c``/``model.h``, ``test_data.c/.h`` (:class:`~tinytx.core.codegen.model.ModelFiles`):

- ``<name>.c``, ``<name>.h``: the model (:mod:`tinytx.core.codegen.model`);
- ``<name>_test_data.c/.h``: the test inputs and their expected outputs, when the
  model has test inputs (``test_inputs.npz`` next to the .onnx, or ``--inputs``);
- ``plan.txt``: the plan summary; ``tinytx-model.json``: what was converted and how
  (``tinytx run <dir>`` converts again from it and checks the files are the same).

FWSA calibration inputs: ``--calibration``, else ``calibration.npz`` next to the .onnx
when there is one (how a sample ships them: every path that converts it picks them up);
``--fwsa off`` loads none.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinytx.core import ir
from tinytx.core.atomic import replace_dir
from tinytx.core.codegen.model import GeneratedModel, ModelFiles, generate, header_comment
from tinytx.core.codegen.testdata import TestData, generate_test_data, load_inputs, make_test_data
from tinytx.core.errors import DoesNotFit, TinytxError
from tinytx.core.executor import check_sparse
from tinytx.core.frontend.onnx import load_onnx
from tinytx.core.frontend.tflite import load_tflite
from tinytx.core.plan.planning import ModelPlan, plan_model
from tinytx.core.plan.scratch import KernelScratch

TEST_INPUTS = "test_inputs.npz"
CALIBRATION = "calibration.npz"
PROVENANCE = "tinytx-model.json"


@dataclass(frozen=True)
class ConvertOptions:
    board: str | None = None
    name: str | None = None
    mhsa: str = "auto"
    tile: int | None = None
    fwsa: str = "auto"
    calibration: Path | None = None  # default: calibration.npz next to the model
    inputs: Path | None = None  # default: test_inputs.npz next to the model
    reserve: int | None = None
    kernels: str | None = None  # scratch sizes planned for this variant (default: the board's)
    cores: int | None = None  # ... and this many cores (default: the board's, else 1)
    sparse: str = "auto"  # weights storage: auto, off, block4, unstructured
    tflite_arith: str = "match"  # .tflite: TFLite's int8 steps (match) or tinytx's (fast)

    def as_json(self) -> dict:
        d = dict(self.__dict__)
        for k in ("calibration", "inputs"):
            d[k] = None if d[k] is None else str(Path(d[k]).resolve())
        return d


@dataclass(frozen=True)
class Conversion:
    onnx: Path
    options: ConvertOptions
    model: ir.Model  # as converted (before planning)
    plan: ModelPlan
    generated: GeneratedModel
    test: TestData | None
    flash_bytes: int | None = None  # the board's flash for the firmware
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def planned(self) -> ir.Model:
        return self.plan.model

    def summary(self) -> list[str]:
        return header_comment(self.plan, self.onnx.name)

    @property
    def names(self) -> ModelFiles:
        """The names of the C files (:meth:`files`)."""
        return self.generated.files

    def sources(self, out_dir: Path) -> list[Path]:
        """The C sources :meth:`write` wrote to ``out_dir`` (the model's, its test data's)."""
        found = [self.names.source] + ([self.names.test_source] if self.test else [])
        return [out_dir / f for f in found]

    def files(self) -> dict[str, str]:
        """What :meth:`write` writes: file name -> text."""
        n = self.names
        files = {n.source: self.generated.source, n.header: self.generated.header}
        if self.test is not None:
            th, tc = generate_test_data(self.planned, self.test, n)
            files[n.test_source] = tc
            files[n.test_header] = th
        files["plan.txt"] = "\n".join(self.summary()) + "\n"
        record = {
            "onnx": str(self.onnx.resolve()),
            "options": self.options.as_json(),
            "planned": {"kernels": self.plan.kernels, "cores": self.plan.cores},
        }
        files[PROVENANCE] = json.dumps(record, indent=2) + "\n"
        return files

    def write(self, out_dir: Path) -> list[Path]:
        """Write :meth:`files` as the whole content of ``out_dir``, all or nothing: they go
        to a temporary sibling directory that then replaces ``out_dir``, so a failure or
        Ctrl-C leaves the previous output as it was, and a reused directory keeps no file
        of the previous model. An ``out_dir`` that is not empty and holds no
        ``tinytx-model.json`` (not a previous output) is refused with a PathError."""
        files = self.files()
        with replace_dir(out_dir, owned=is_conversion_output) as tmp:
            for name, text in files.items():
                (tmp / name).write_text(text)
        return [out_dir / name for name in files]


def model_files(given: str | None, name: str) -> ModelFiles:
    """The C files of a model: named after it (``name``, the C name) when ``--name`` was
    ``given``, else model.c/model.h and test_data.c/.h."""
    return ModelFiles() if given is None else ModelFiles(name)


def is_conversion_output(directory: Path) -> bool:
    """Whether ``directory`` holds a previous ``tinytx convert`` output (its provenance)."""
    return (directory / PROVENANCE).is_file()


def default_kernels(board_name: str | None) -> str:
    """The kernel variant a board's firmware is built with by default (its scratch sizes
    are the ones planned): the DSP kernels on Cortex-M4/M7, the multi-core ones on a RISC-V
    board of several cores (GAP9's cluster), the reference ones elsewhere."""
    if board_name is None:
        return "ref"
    from tinytx.core.boards import get_board

    board = get_board(board_name)
    if (board.cpu or "") in ("cortex-m4", "cortex-m7"):
        return "arm"
    return "riscv" if board.arch == "riscv" and board.cores > 1 else "ref"


def default_cores(board_name: str | None) -> int:
    """The cores a board's firmware runs its kernels on (boards.yaml ``cores``; 1 without a
    board)."""
    if board_name is None:
        return 1
    from tinytx.core.boards import get_board

    return get_board(board_name).cores


def planned_scratch(kernels: str, cores: int | None, board_name: str | None) -> KernelScratch:
    """The scratch sizes to plan: ``kernels`` on ``cores`` (default: the board's), checked
    against the kernels' limit (``--cores``)."""
    from tinytx.core.targets import check_cores

    n = default_cores(board_name) if cores is None else check_cores(cores, "--cores")
    return KernelScratch(kernels, n)


def board_cpu(board_name: str | None) -> str | None:
    """The core a board's schedules are priced for (None: no board)."""
    if board_name is None:
        return None
    from tinytx.core.boards import get_board

    return get_board(board_name).cpu


def _budget(opts: ConvertOptions) -> tuple[int | None, str, int | None]:
    if opts.board is None:
        return None, "no board: no RAM limit", None
    from tinytx.core.boards import get_board
    from tinytx.core.plan.budget import ram_budget

    board = get_board(opts.board)
    rb = ram_budget(opts.board, opts.reserve)
    flash = board.link["flash_size"] if board.link else board.flash_size
    if board.weights_partition is not None and not board.link:
        flash -= board.weights_partition.size
    return rb.budget, rb.describe(), flash


def calibration_inputs(model: ir.Model, path: Path) -> np.ndarray:
    return load_inputs(model, path) if path.suffix == ".npz" else np.load(path)


def calibration_path(onnx_path: Path, fwsa: str, given: Path | None = None) -> Path | None:
    """The FWSA calibration inputs: ``given`` (``--calibration``), else ``calibration.npz``
    next to the model if there is one; none with ``--fwsa off`` (nothing to fuse)."""
    if fwsa == "off":
        return None
    if given is not None:
        return Path(given)
    found = Path(onnx_path).parent / CALIBRATION
    return found if found.is_file() else None


def load_model(
    path: Path, name: str | None = None, tflite_arith: str = "match", exact_attention: bool = True
) -> ir.Model:
    """The IR of a model file, by its suffix: ``.tflite`` (int8 TFLite, ``tflite_arith``:
    :data:`tinytx.core.frontend.tflite.ARITH_MODES`; see :func:`load_tflite`), else ONNX."""
    if Path(path).suffix.lower() == ".tflite":
        return load_tflite(path, name, tflite_arith, exact_attention)
    return load_onnx(path, name)


def shown_path(path: Path) -> str:
    """``path`` as the plan prints it: from the data root (the repository root of a
    checkout, the package data of a wheel) when inside it (the same text on every
    installation), else absolute."""
    from tinytx.core.resources import shown_path as shown

    return shown(Path(path).resolve())


def _plan(
    model: ir.Model, onnx_path: Path, fwsa: str, given: Path | None, *args, **kwargs
) -> ModelPlan:
    """:func:`plan_model` with the calibration inputs of :func:`calibration_path`, which
    the plan names."""
    path = calibration_path(onnx_path, fwsa, given)
    calib = calibration_inputs(model, path) if path is not None else None
    plan = plan_model(model, *args, fwsa=fwsa, calibration=calib, **kwargs)
    return plan if path is None else dataclasses.replace(plan, calibration=shown_path(path))


def convert(onnx_path: Path, opts: ConvertOptions) -> Conversion:
    """Convert and plan; raises :class:`DoesNotFit` when the arena or the weights exceed
    the board (after trying every schedule), FrontendError/PlanError for bad input."""
    onnx_path = Path(onnx_path)
    model = load_model(onnx_path, opts.name, opts.tflite_arith)
    budget, budget_text, flash = _budget(opts)
    kernels = opts.kernels or default_kernels(opts.board)
    scratch = planned_scratch(kernels, opts.cores, opts.board)

    def planned(m: ir.Model) -> ModelPlan:
        return _plan(
            m, onnx_path, opts.fwsa, opts.calibration, budget, budget_text, opts.mhsa,
            opts.tile, kernels=kernels, scratch=scratch, cpu=board_cpu(opts.board),
            sparse=opts.sparse,
        )  # fmt: skip

    plan = planned(model)
    if not plan.fits and any(isinstance(op, ir.AttentionSteps) for op in model.ops):
        # TFLite's attention steps hold q, k and v whole: the fused blocks may fit instead
        fused = load_model(onnx_path, opts.name, opts.tflite_arith, exact_attention=False)
        fused_plan = planned(fused)
        if fused_plan.fits:
            note = (
                f"attention: TFLite's steps need an arena of {plan.arena_bytes} bytes, more "
                f"than {plan.budget}: the blocks are tinytx's attention op (statistical "
                "agreement with TFLite, not bit for bit)"
            )
            model = fused
            plan = dataclasses.replace(fused_plan, notes=(*fused_plan.notes, note))
    if plan.sparse is not None:
        check_sparse(plan.model, {x.layer: x.weights for x in plan.sparse.sparse_layers})
    problems = []
    if not plan.fits:
        problems.append(
            f"arena {plan.arena_bytes} bytes > {plan.budget} bytes of RAM ({budget_text})"
        )
    if flash is not None and plan.weight_bytes > flash:
        problems.append(f"weights {plan.weight_bytes} bytes > {flash} bytes of flash")
    if problems:
        raise DoesNotFit(
            f"{onnx_path.name} does not fit {opts.board}: "
            + "; ".join(problems)
            + f" (attention: {'; '.join(plan.decisions()) or 'none'})"
        )
    generated = generate(plan, onnx_path.name, model_files(opts.name, model.name))
    inputs = opts.inputs or (onnx_path.parent / TEST_INPUTS)
    test = make_test_data(model, plan.model, inputs) if Path(inputs).is_file() else None
    if opts.inputs is not None and test is None:
        raise TinytxError(f"--inputs: {opts.inputs} not found")
    return Conversion(onnx_path, opts, model, plan, generated, test, flash)


def load_provenance(out_dir: Path) -> tuple[Path, ConvertOptions]:
    path = out_dir / PROVENANCE
    try:
        record = json.loads(path.read_text())
        o = record["options"]
        opts = ConvertOptions(
            board=o.get("board"),
            name=o.get("name"),
            mhsa=o.get("mhsa", "auto"),
            tile=o.get("tile"),
            fwsa=o.get("fwsa", "auto"),
            calibration=Path(o["calibration"]) if o.get("calibration") else None,
            inputs=Path(o["inputs"]) if o.get("inputs") else None,
            reserve=o.get("reserve"),
            kernels=o.get("kernels"),
            cores=o.get("cores"),
            sparse=o.get("sparse", "auto"),
        )
        return Path(record["onnx"]), opts
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise TinytxError(f"{path}: not a tinytx convert output ({exc})") from None


def plan_json(
    path: Path,
    budget: int | None,
    budget_text: str = "",
    fwsa: str = "auto",
    tile: int | None = None,
    kernels: str = "ref",
    cpu: str | None = None,
    cores: int | None = None,
    sparse: str = "auto",
    tflite_arith: str = "match",
) -> dict:
    """The plan of a whole ONNX model as JSON-ready data (``tinytx plan <model.onnx>``), the
    same plan ``tinytx convert`` generates code from (with ``calibration.npz`` next to the
    model as its FWSA calibration inputs, when there is one), with the layer-wise and the
    depth-first arenas of the whole model next to it (the keys of ``tinytx plan --shape``)."""
    model = load_model(Path(path), tflite_arith=tflite_arith)
    scratch = planned_scratch(kernels, cores, None)

    def planned(mhsa: str, tile_rows: int | None) -> ModelPlan:
        return _plan(
            model, Path(path), fwsa, None, budget, budget_text, mhsa, tile_rows,
            kernels=kernels, scratch=scratch, cpu=cpu, sparse=sparse,
        )  # fmt: skip

    plan = planned("auto", tile)
    blocks = []
    for op in plan.model.ops:
        if isinstance(op, ir.Mhsa):
            s, e = plan.model.tensors[op.inputs[0]].shape
            blocks.append(
                {
                    "op": op.name,
                    "shape": {"S": s, "E": e, "H": op.heads, "P": op.head_dim},
                    "schedule": op.variant,
                    "tile_rows": op.tile if op.variant == "dft" else None,
                    "fwsa": op.fwsa is not None,
                    "scratch_bytes": plan.scratch.get(op.name, (0, 0))[1],
                    "split": plan.sparse is not None and op.name in plan.sparse.split_blocks,
                }
            )
    tiles = [b["tile_rows"] for b in blocks if b["tile_rows"] is not None]
    layerwise = planned("layerwise", None) if blocks else plan
    dft = (plan if tiles else planned("dft", None)) if blocks else None
    dft_tile = None
    if dft is not None:
        dft_tile = next(op.tile for op in dft.model.ops if isinstance(op, ir.Mhsa))
    return {
        "model": str(path),
        "name": plan.model.name,
        "kernel_calls": sum(1 for op in plan.model.ops if not isinstance(op, ir.View)),
        "macs": plan.model.macs,
        "weight_bytes": plan.model.weight_bytes,
        "stored_weight_bytes": plan.weight_bytes,
        "sparse": None if plan.sparse is None else plan.sparse.as_json(),
        "layerwise_peak_bytes": layerwise.arena_bytes,
        "dft_peak_bytes": dft.arena_bytes if dft is not None else None,
        "dft_tile_rows": dft_tile,
        "tile_rows": tiles[0] if tiles else None,
        "arena_bytes": plan.arena_bytes,
        "budget_bytes": budget,
        "budget": budget_text,
        "fits": plan.fits,
        "attention": blocks,
        "decisions": plan.describe(),
        "notes": list(plan.notes),
        "kernels": kernels,
        "cores": plan.cores,
        "schedule": None
        if plan.choice is None
        else {
            "chosen": plan.choice.chosen.describe(),
            "reason": plan.choice.reason,
            "pricing": plan.choice.pricing,
            "candidates": plan.choice.lines(),
        },
    }
