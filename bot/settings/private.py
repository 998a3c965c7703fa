"""Files only this user may read: secrets in the var dir (the dev admin token, the audit key) and SQLite files."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger("procurebot")
PRIVATE = 0o600


def tighten(path: Path) -> None:
    """Make an existing file readable by its owner only (a file made before this rule, or by hand, may be 0644)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if mode & 0o077:
        os.chmod(path, PRIVATE)
        log.warning("%s was readable by others (mode %o); it is now %o", path, mode, PRIVATE)


def read_private(path: Path) -> str | None:
    """The text of a private file (tightened first), or None if there is none."""
    if not path.is_file():
        return None
    tighten(path)
    return path.read_text(encoding="utf-8")


def write_private(path: Path, text: str, *, exclusive: bool = False) -> None:
    """Write `text` to `path` as a 0600 file, whole or not at all. `exclusive`: keep a file another process made
    meanwhile (two servers starting together agree on the first one's)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(scratch, PRIVATE)  # O_CREAT's mode is masked by the umask, and an old scratch file keeps its own
    if exclusive:
        try:
            os.link(scratch, path)  # fails if the file exists: the first writer wins
        except FileExistsError:
            pass
        finally:
            os.unlink(scratch)
        return
    os.replace(scratch, path)


def private_database(url: str) -> None:
    """A SQLite database file (and its journal files) readable by its owner only; made empty and 0600 before
    SQLite creates it with the umask's mode. Other URLs are left alone."""
    if not url.startswith("sqlite:///"):
        return
    path = url.removeprefix("sqlite:///").split("?", 1)[0]
    if not path or path == ":memory:":
        return
    db = Path(path)
    db.parent.mkdir(parents=True, exist_ok=True)
    if not db.exists():
        os.close(os.open(db, os.O_WRONLY | os.O_CREAT, PRIVATE))
    for each in (db, Path(f"{db}-wal"), Path(f"{db}-shm"), Path(f"{db}-journal")):
        tighten(each)
