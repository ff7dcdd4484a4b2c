"""The test database: another database on the same server, and every table emptied, as
the benchmarks empty theirs."""

from __future__ import annotations

from bench.common import empty_database as reset
from bench.common import with_database

__all__ = ["reset", "with_database"]
