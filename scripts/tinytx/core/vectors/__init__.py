"""Seeded kernel test vectors: random cases, their golden outputs, and the file format."""

from tinytx.core.vectors.format import KERNEL_IDS, Case, read_cases, write_cases
from tinytx.core.vectors.generators import GENERATORS, generate_cases

__all__ = ["GENERATORS", "KERNEL_IDS", "Case", "generate_cases", "read_cases", "write_cases"]
