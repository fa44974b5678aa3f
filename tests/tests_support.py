"""Small helpers shared by tests (importable because tests/ is on sys.path via conftest)."""

from __future__ import annotations

import textwrap
from pathlib import Path


def write(path: Path, text: str) -> Path:
    """Write dedented ``text`` to ``path`` and return the path."""
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path

ROOT = Path(__file__).resolve().parents[1]
