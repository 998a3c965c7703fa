"""Input validation rules shared by every input model (commands, requisitions)."""

from __future__ import annotations

from typing import Any


def refuse_nul(value: Any) -> Any:
    """NUL characters are never meant, and PostgreSQL cannot store them in text."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("must not contain NUL (\\x00) characters")
    return value
