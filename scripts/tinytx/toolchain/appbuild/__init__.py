"""`tinytx build`: a sample as a Zephyr application or as the bare-metal emulated profile.

- :mod:`tinytx.toolchain.appbuild.samples`: the samples of ``samples/`` and what each generates
  (its model conversion, or mhsa_bench's block data);
- :mod:`tinytx.toolchain.appbuild.workspace`: finding a Zephyr workspace and running ``west build``;
- :mod:`tinytx.toolchain.appbuild.emulated`: the bare-metal build of an emulated profile
  (``*_emu`` boards of boards/boards.yaml) through module/ports/baremetal.
"""
