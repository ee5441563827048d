"""The core layer: golden model, IR, frontends, planner and code generation (text only).

Nothing here builds or runs firmware; :mod:`tinytx.toolchain` does, on top of it.
"""
