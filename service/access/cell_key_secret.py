"""The secret behind the cell keys of analysts' figures (schema.disclosure, ADR 0013).

Whoever holds it can compute every cell's rounding and undo it, so it is kept like the
development JWT secret: REUNITE_DISCLOSURE_SECRET, or generated once into the private data
directory (0600). It must never change: a new secret rounds every figure afresh, and an
analyst holding figures from before and after would have two independent roundings of each
count to combine. Server processes that answer the same analysts must share it.
"""

from __future__ import annotations

import functools

from service.access.auth import MIN_SECRET_BYTES, SecretRefused, kept_secret
from service.settings import Settings

FILE = "disclosure-secret"


@functools.cache
def cell_key_secret(settings: Settings) -> bytes:
    """The configured secret, or the one kept in the data directory (made on first use)."""
    if settings.disclosure_secret is not None:
        chosen = settings.disclosure_secret.encode()
        if len(chosen) < MIN_SECRET_BYTES:
            raise SecretRefused(
                f"REUNITE_DISCLOSURE_SECRET is {len(chosen)} bytes; at least"
                f" {MIN_SECRET_BYTES} are needed"
            )
        return chosen
    remedy = "the analysts' roundings are exposed"
    return kept_secret(settings, FILE, remedy).encode()
