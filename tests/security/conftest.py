"""The attacks' fixtures: one real server process per module (tests/security_served.py)."""

from __future__ import annotations

from security_served import served  # noqa: F401  (the fixture, registered here)
