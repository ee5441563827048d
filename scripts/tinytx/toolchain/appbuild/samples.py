"""The samples of ``samples/`` and the C sources each one generates before it builds.

A sample is a directory with ``src/*.c``. What it generates:

- a sample with a model (``model/model.onnx``) converts it with ``tinytx convert
  <model> -o <dir>`` (the ONNX frontend's command; :func:`convert_model` is the one
  place that calls it);
- ``mhsa_bench`` writes its block's data (weights, input, the golden model's output,
  arena size) for a shape of :data:`tinytx.core.workloads.SHAPES` and a seed, optionally
  with the weights in a weight image (``--weights-image``) and that image as Intel HEX
  at a board's weights partition;
- any other sample generates nothing.

A sample with a model also builds with the shared body of the model samples
(``samples/common``: ``main()``, the test loop, the port layer).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tinytx.core.errors import TinytxError
from tinytx.core.resources import samples_dir, shown_path

MODEL_FILE = Path("model") / "model.onnx"


def common_dir() -> Path:
    """The shared body of the model samples (samples/common)."""
    return samples_dir() / "common"


@dataclass(frozen=True)
class Sample:
    name: str
    path: Path

    @property
    def model(self) -> Path | None:
        """The quantized model the sample converts, if it has one."""
        model = self.path / MODEL_FILE
        return model if model.is_file() else None

    @property
    def sources(self) -> tuple[Path, ...]:
        """The sample's own C sources (``src/*.c``)."""
        return tuple(sorted((self.path / "src").glob("*.c")))

    @property
    def common_sources(self) -> tuple[Path, ...]:
        """The shared body of the model samples (samples/common: main() and the test
        loop) that a sample with a model builds with; none for the others."""
        if self.model is None:
            return ()
        return tuple(sorted((common_dir() / "src").glob("*.c")))

    @property
    def include_dirs(self) -> tuple[Path, ...]:
        dirs = [self.path / "src"]
        if self.model is not None and (common_dir() / "include").is_dir():
            dirs.append(common_dir() / "include")
        return tuple(dirs)

    @property
    def shown(self) -> str:
        """The sample's path as the user wrote it from the repository root."""
        return shown_path(self.path)


@dataclass(frozen=True)
class GenerateOptions:
    shape: str | None = None  # mhsa_bench: a key of tinytx.core.workloads.SHAPES
    seed: int | None = None  # mhsa_bench: seed of the random block and input
    weights_image: bool = False  # weights in a weight image instead of the firmware
    board: str | None = None  # board of boards.yaml: its memory, its weights partition
    kernels: str | None = None  # kernel variant a model conversion plans for
    cores: int | None = None  # cores the kernels run on (CONFIG_TINYTX_NUM_CORES)
    sparse: str = "auto"  # weights storage of a model conversion (--sparse)


@dataclass(frozen=True)
class Generated:
    directory: Path
    sources: tuple[Path, ...]
    weights_hex: Path | None
    summary: str


def list_samples(root: Path | None = None) -> list[Sample]:
    """Every sample under ``root`` (default: the samples tree; a directory with C sources
    in ``src/``)."""
    root = root or samples_dir()
    return [
        Sample(p.name, p)
        for p in sorted(root.iterdir())
        if p.is_dir() and (p / "src").is_dir() and p.resolve() != common_dir().resolve()
    ]


def find_sample(arg: str) -> Sample:
    """The sample named by ``arg``: a directory (``samples/radar``) or a sample name."""
    path = Path(arg)
    if not path.is_dir() and (samples_dir() / arg).is_dir():
        path = samples_dir() / arg
    if not path.is_dir():
        known = ", ".join(s.name for s in list_samples()) or "none"
        raise TinytxError(f"sample {arg}: no such directory (samples: {known})")
    path = path.resolve()
    sample = Sample(path.name, path)
    if not sample.sources and sample.model is None:
        raise TinytxError(f"sample {arg}: no C sources in {sample.shown}/src")
    return sample


def kconfig_value(sample: Sample, board: str, symbol: str) -> str | None:
    """The value ``CONFIG_<symbol>`` gets from the sample's ``prj.conf`` and
    ``boards/<board>.conf`` (the later file wins, as in Zephyr), quotes removed."""
    value = None
    for conf in (sample.path / "prj.conf", sample.path / "boards" / f"{board}.conf"):
        if not conf.is_file():
            continue
        for line in conf.read_text().splitlines():
            name, sep, raw = line.strip().partition("=")
            if sep and name == f"CONFIG_{symbol}":
                value = raw.strip().strip('"')
    return value


def generate(sample: Sample, out_dir: Path, options: GenerateOptions) -> Generated:
    """Write what ``sample`` generates into ``out_dir``."""
    generator = GENERATORS.get(sample.name)
    if generator is None and (options.shape is not None or options.seed is not None):
        raise TinytxError(f"--shape/--seed: only mhsa_bench takes them, not {sample.name}")
    out_dir.mkdir(parents=True, exist_ok=True)
    if generator is not None:
        return generator(sample, out_dir, options)
    if sample.model is not None:
        return convert_model(sample, sample.model, out_dir, options)
    if options.weights_image:
        raise TinytxError(f"--weights-image: {sample.name} has no model weights to put in one")
    return Generated(out_dir, (), None, f"{sample.name}: nothing to generate")


def convert_model(
    sample: Sample, model: Path, out_dir: Path, options: GenerateOptions
) -> Generated:
    """The sample's model as C sources, converted as ``tinytx convert <model> -o <out_dir>``
    does (with the board of boards.yaml, whose RAM the plan must fit)."""
    from tinytx.core.boards import load_boards
    from tinytx.core.codegen.project import ConvertOptions, convert

    if options.weights_image:
        raise TinytxError("--weights-image: `tinytx convert` writes no weight image yet")
    board = options.board if options.board is not None and options.board in load_boards() else None
    opts = ConvertOptions(
        board=board, kernels=options.kernels, cores=options.cores, sparse=options.sparse
    )
    conversion = convert(model, opts)
    conversion.write(out_dir)
    sources = tuple(sorted(out_dir.glob("*.c")))
    return Generated(out_dir, sources, None, f"{sample.name}: converted {MODEL_FILE}")


def generate_mhsa_bench(sample: Sample, out_dir: Path, options: GenerateOptions) -> Generated:
    """mhsa_bench's block data, as ``tinytx demo`` generates it for the same shape/seed."""
    from tinytx.core import golden as g
    from tinytx.core.workloads import SHAPES, make_mhsa
    from tinytx.toolchain.demo import generate_sources, weights_payload

    shape_name = (options.shape or "A").upper()
    if shape_name not in SHAPES:
        raise TinytxError(f"--shape: {options.shape!r} is not one of {', '.join(SHAPES)}")
    shape = SHAPES[shape_name]
    seed = 7 if options.seed is None else options.seed
    work = make_mhsa(shape, seed)
    expected = g.mhsa_s8(work.x, shape.heads, work.weights, work.quant)
    sources = tuple(
        generate_sources(work, expected, out_dir, options.weights_image, options.cores or 1)
    )
    summary = f"mhsa_bench: shape {shape_name} ({shape}), seed {seed}"
    hex_file = None
    if options.weights_image:
        summary += ", weights in a weight image"
        if options.board is not None:
            hex_file = write_weights_hex(weights_payload(work), options.board, out_dir)
            summary += f" ({hex_file.name} for {options.board})"
    return Generated(out_dir, sources, hex_file, summary)


def write_weights_hex(payload, board_name: str, out_dir: Path) -> Path:
    """The weight image of ``payload`` as Intel HEX at the board's weights partition."""
    from tinytx.core.boards import get_board
    from tinytx.core.weights_image import build_image, check_fits, write_intel_hex

    board = get_board(board_name)
    part = board.weights_partition
    if part is None:
        raise TinytxError(f"--board: {board.name} has no weights partition in boards.yaml")
    image = build_image(payload)
    check_fits(image, part, f"board {board.name}")
    path = out_dir / "weights.hex"
    write_intel_hex(image, part.address, path)
    return path


GENERATORS: dict[str, Callable[[Sample, Path, GenerateOptions], Generated]] = {
    "mhsa_bench": generate_mhsa_bench,
}
