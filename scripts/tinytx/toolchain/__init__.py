"""The toolchain layer: builds firmware, runs it on emulators, benchmarks and reports it.

It uses :mod:`tinytx.core` and never the command line (:mod:`tinytx.cli`).
"""
