"""Emulation helpers for tinytx.

`tinytx.toolchain.emu.unicorn_arm` runs single C functions of a Cortex-M ELF under unicorn and
counts the instructions they execute exactly (the primary speed metric of tinytx);
`tinytx.toolchain.emu.unicorn_riscv` does the same per emulated core of an RV32 ELF, and
`tinytx.toolchain.emu.unicorn_common` holds what the two runners share (ELF reading, memory
window, hooks, scratch heap). Submodules are imported explicitly so that importing this package
does not require unicorn.
"""
