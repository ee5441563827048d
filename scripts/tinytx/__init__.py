"""tinytx: quantized Tiny Transformers on microcontrollers.

The package holds the integer golden model (:mod:`tinytx.core.golden`), the test-vector
generator, the emulation harness and the command-line interface used both as
``tinytx`` and as ``west tinytx``.
"""

__version__ = "0.1.0"
