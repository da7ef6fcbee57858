"""Damaging files on purpose, as a disk, a crash or a careless copy would."""

from __future__ import annotations

from pathlib import Path


def flip_byte(path: Path, position: int) -> None:
    """Invert every bit of the byte at ``position`` of ``path``."""
    with path.open("r+b") as handle:
        handle.seek(position)
        byte = handle.read(1)
        handle.seek(position)
        handle.write(bytes([byte[0] ^ 0xFF]))
