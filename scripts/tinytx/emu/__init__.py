"""Emulation helpers for tinytx.

`tinytx.emu.unicorn_arm` runs single C functions of a Cortex-M ELF under unicorn and
counts the instructions they execute exactly (the primary speed metric of tinytx, see
the "Honest numbers" contract in ARCHITECTURE.md). Submodules are imported explicitly so
that importing this package does not require unicorn.
"""
