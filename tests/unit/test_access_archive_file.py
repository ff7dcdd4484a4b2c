"""An archive file an attacker shaped is refused with BundleRejected, never a traceback."""

from __future__ import annotations

import gzip

import pytest

from service.ledger.archive import verify_archive
from service.ledger.bundle import BundleRejected

HEAD = b'{"format": "reunite-access-archive-v1", "month": "2026-01", "reads": [{"id": '


@pytest.mark.parametrize(
    "data",
    [
        b"not gzip",
        gzip.compress(b"{"),
        gzip.compress(b"\xff\xfe"),
        gzip.compress(b"[]"),
        gzip.compress(b"[" * 100_000 + b"]" * 100_000),
        gzip.compress(HEAD + b"9" * 5000 + b"}]}"),
        gzip.compress(b'{"a": 1}')[:-5],
    ],
    ids=["not-gzip", "bad-json", "bad-utf8", "not-object", "deep", "huge-int", "truncated"],
)
def test_malformed_archive_is_refused(data: bytes) -> None:
    with pytest.raises(BundleRejected):
        verify_archive(data, None)
