"""Generation of plain C sources (const arrays, headers) from numpy data."""
