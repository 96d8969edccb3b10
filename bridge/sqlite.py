"""One way to open the bridge's SQLite files: autocommit (transactions are explicit), rows by
column name, a generous busy timeout for the web side and the workers writing at once."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SYNCHRONOUS = ("FULL", "NORMAL")
"""``FULL``: a commit is on disk when it returns (one fsync per commit). ``NORMAL`` (in WAL
mode): a commit survives the process crashing but not the machine losing power."""


def open_connection(path: Path, *, synchronous: str = "FULL") -> sqlite3.Connection:
    """A connection to ``path`` that the caller closes; may be used from another thread."""
    if synchronous not in SYNCHRONOUS:
        raise ValueError(f"synchronous must be one of {SYNCHRONOUS}, got {synchronous!r}")
    db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    db.row_factory = sqlite3.Row
    db.execute(f"PRAGMA synchronous={synchronous}")
    return db


class NormalSyncConnection(sqlite3.Connection):
    """A connection that commits with ``synchronous=NORMAL``; for files whose content the job
    record can rebuild, such as the queue (``sqlite3.connect(..., factory=...)``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.execute("PRAGMA synchronous=NORMAL")


@contextmanager
def connect(path: Path, *, synchronous: str = "FULL") -> Iterator[sqlite3.Connection]:
    """A connection to ``path``, closed when the block ends."""
    db = open_connection(path, synchronous=synchronous)
    try:
        yield db
    finally:
        db.close()
