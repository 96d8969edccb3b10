"""One way to open the bridge's SQLite files: autocommit (transactions are explicit), rows by
column name, a generous busy timeout for the web side and the workers writing at once."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    """A connection to ``path``, closed when the block ends."""
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    db.row_factory = sqlite3.Row
    try:
        yield db
    finally:
        db.close()
