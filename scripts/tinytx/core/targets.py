"""Build/emulation targets, read from boards/targets.yaml."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tinytx.core.errors import UserInputError
from tinytx.core.resources import baremetal_port_dir, boards_dir


def targets_file() -> Path:
    return boards_dir() / "targets.yaml"


def toolchain_file() -> Path:
    """The CMake toolchain file of the emulated (picolibc, semihosting) targets."""
    return baremetal_port_dir() / "cmake" / "picolibc-semihost.cmake"


@dataclass(frozen=True)
class Target:
    name: str
    description: str
    kind: str  # "host" or "qemu"
    cflags: tuple[str, ...]
    ldflags: tuple[str, ...] = ()
    toolchain: str | None = None
    qemu: tuple[str, ...] = ()
    cpu: str | None = None
    memory: dict[str, int] = field(default_factory=dict)
    kernels: tuple[str, ...] = ("ref",)  # buildable kernel variants, default first
    cmake: dict[str, str] = field(default_factory=dict)  # extra CMake cache entries
    cores: int = 1  # cores the kernels run on (tinytx_parallel_num_cores(); QEMU -smp)

    def with_cores(self, cores: int | None) -> Target:
        """This target running ``cores`` cores (None: its own count): a multi-core target
        runs 1 .. its own count (QEMU ``-smp``; its parallel port is built for that many)."""
        if cores is None or cores == self.cores:
            return self
        if self.cores == 1:
            raise UserInputError(
                f"cores: target {self.name} runs one core, not {cores} (a multi-core target"
                " runs more, e.g. rv32x8)"
            )
        if isinstance(cores, bool) or not isinstance(cores, int) or not 1 <= cores <= self.cores:
            raise UserInputError(
                f"cores: target {self.name} runs 1..{self.cores} cores, not {cores!r}"
            )
        return dataclasses.replace(self, cores=cores)

    @property
    def default_kernels(self) -> str:
        return self.kernels[0]

    def check_kernels(self, variant: str) -> str:
        if variant not in self.kernels:
            raise UserInputError(
                f"kernels: target {self.name} builds the variants {', '.join(self.kernels)},"
                f" not {variant!r}"
            )
        return variant

    @property
    def emulated(self) -> bool:
        return self.kind == "qemu"

    def cmake_args(self) -> list[str]:
        """CMake cache arguments that select this target's compiler and flags."""
        if not self.emulated:
            return [
                f"-DCMAKE_C_FLAGS={' '.join(self.cflags)}",
                f"-DCMAKE_EXE_LINKER_FLAGS={' '.join(self.ldflags)}",
            ]
        defsyms = [
            f"__flash={self.memory['flash']:#x}",
            f"__flash_size={self.memory['flash_size']:#x}",
            f"__ram={self.memory['ram']:#x}",
            f"__ram_size={self.memory['ram_size']:#x}",
        ]
        return [
            f"-DCMAKE_TOOLCHAIN_FILE={toolchain_file()}",
            f"-DTINYTX_TOOLCHAIN_PREFIX={self.toolchain}",
            f"-DTINYTX_CPU_FLAGS={';'.join(self.cflags)}",
            f"-DTINYTX_MEMORY_DEFSYMS={';'.join(defsyms)}",
            *(f"-D{k}={v}" for k, v in sorted(self.cmake.items())),
        ]

    def qemu_command(self, elf: Path, args: list[str], extra: Sequence[str] = ()) -> list[str]:
        """QEMU command line running ``elf`` with semihosting ``args`` (argv[1:]);
        ``extra`` QEMU options go before ``-kernel`` (e.g. ``-device loader,...``)."""
        sh = ",".join(["enable=on", "target=native", "chardev=con"] + [f"arg={a}" for a in args])
        smp = ["-smp", str(self.cores)] if self.cores > 1 else []
        return [
            *self.qemu, *smp,
            "-display", "none", "-monitor", "none", "-serial", "none",
            "-chardev", "stdio,id=con", "-semihosting-config", sh,
            *extra,
            "-kernel", str(elf),
        ]  # fmt: skip


def check_cores(cores: object, what: str = "cores") -> int:
    """``cores`` if it is a core count the kernels support: 1 ..
    ``TINYTX_PARALLEL_SERIAL_MAX_CORES`` (kernels/include/tinytx/parallel.h)."""
    from tinytx.core.kernel_abi import kernel_abi

    top = kernel_abi("ref").constant("TINYTX_PARALLEL_SERIAL_MAX_CORES")
    if isinstance(cores, bool) or not isinstance(cores, int) or not 1 <= cores <= top:
        raise UserInputError(f"{what}: cores must be an integer in 1..{top}, got {cores!r}")
    return cores


def _positive(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UserInputError(f"{what}: expected an integer >= 1, got {value!r}")
    return value


def load_targets(path: Path | None = None) -> dict[str, Target]:
    path = path or targets_file()
    data = yaml.safe_load(path.read_text())
    out: dict[str, Target] = {}
    for name, t in data["targets"].items():
        out[name] = Target(
            name=name,
            description=t["description"],
            kind=t["kind"],
            cflags=tuple(t.get("cflags", ())),
            ldflags=tuple(t.get("ldflags", ())),
            toolchain=t.get("toolchain"),
            qemu=tuple(t.get("qemu", ())),
            cpu=t.get("cpu"),
            memory=dict(t.get("memory", {})),
            kernels=tuple(t.get("kernels", ("ref",))),
            cmake={str(k): str(v) for k, v in t.get("cmake", {}).items()},
            cores=_positive(t.get("cores", 1), f"{path}: target {name}: cores"),
        )
    return out


def get_target(name: str) -> Target:
    targets = load_targets()
    if name not in targets:
        raise UserInputError(f"target: unknown target {name!r}; known: {', '.join(targets)}")
    return targets[name]
