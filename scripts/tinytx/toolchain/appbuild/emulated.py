"""The bare-metal build of a sample for an emulated profile (``*_emu`` boards of
boards/boards.yaml): module/ports/baremetal, the profile's QEMU target and memory."""

from __future__ import annotations

from pathlib import Path

from tinytx.core.boards import Board
from tinytx.core.resources import baremetal_port_dir
from tinytx.toolchain.appbuild.samples import Generated, Sample
from tinytx.toolchain.build import cmake_build


def build_emulated(
    sample: Sample,
    board: Board,
    generated: Generated,
    build_dir: Path,
    kernels: str | None,
    weights_image: bool = False,
) -> Path:
    """Build ``sample`` with its generated sources for ``board``; returns the ELF. With
    ``weights_image`` the firmware reads its weights from the board's weights partition."""
    target = board.build_target()
    sources = [*sample.sources, *sample.common_sources, *generated.sources]
    include_dirs = [generated.directory, *sample.include_dirs]
    defines = {
        "TINYTX_APP_NAME": sample.name,
        "TINYTX_APP_SOURCES": ";".join(str(p) for p in sources),
        "TINYTX_APP_INCLUDE_DIRS": ";".join(str(p) for p in include_dirs),
        "TINYTX_KERNEL_VARIANT": target.check_kernels(kernels or target.default_kernels),
    }
    if weights_image and board.weights_partition is not None:
        defines["TINYTX_WEIGHTS_IMAGE"] = "ON"
        defines["TINYTX_WEIGHTS_PARTITION_ADDR"] = f"{board.weights_partition.address:#x}"
        defines["TINYTX_WEIGHTS_PARTITION_SIZE"] = f"{board.weights_partition.size:#x}"
    cmake_build(baremetal_port_dir(), build_dir, target, defines)
    return build_dir / sample.name
