"""Envelope encryption of personal fields: AES-GCM under a person's data key, data keys
wrapped by a key-encryption key (KEK) that never enters the database.

A sealed field is base64(nonce || ciphertext || tag), its associated data the stream, the
version and the field's name: a ciphertext moved to another event, version or field fails
to open. The KEK is behind KeyWrapper, so a KMS or a Vault transit key can take the key
file's place (README, Personal data): wrap and unwrap are the only calls it needs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from pathlib import Path
from typing import Protocol
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12
DATA_KEY_BYTES = 32
KEK_FORMAT = "reunite-kek-1"


class SealError(Exception):
    """A sealed value or wrapped key that does not open: wrong key, moved, or altered."""


class KekFileError(Exception):
    """A key-encryption key file that is missing, malformed, or would be overwritten."""


def event_aad(stream_id: UUID, version: int) -> bytes:
    """The part of every sealed field's associated data that names its event."""
    return stream_id.bytes + version.to_bytes(4, "big")


def field_aad(stream_id: UUID, version: int, field: str) -> bytes:
    """What binds a sealed field to its place: stream, version and field name."""
    return event_aad(stream_id, version) + field.encode()


def seal(cipher: AESGCM, plaintext: bytes, aad: bytes) -> str:
    """The sealed text of plaintext, under a fresh random nonce."""
    nonce = os.urandom(NONCE_BYTES)
    return base64.b64encode(nonce + cipher.encrypt(nonce, plaintext, aad)).decode("ascii")


def unseal(cipher: AESGCM, token: str, aad: bytes) -> bytes:
    """The plaintext of a sealed text, or SealError."""
    raw = binascii.a2b_base64(token)
    try:
        return cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], aad)
    except InvalidTag:
        raise SealError("a sealed field does not open under its person's key here") from None


class KeyWrapper(Protocol):
    """A key-encryption key: wraps and unwraps data keys; known by a stable id."""

    @property
    def key_id(self) -> str: ...

    def wrap(self, data_key: bytes, person_id: UUID) -> bytes: ...

    def unwrap(self, wrapped: bytes, person_id: UUID) -> bytes: ...


class FileKek:
    """A 256-bit KEK read from a file only its owner may read (created by `reunite keys kek`)."""

    def __init__(self, key: bytes) -> None:
        if len(key) != DATA_KEY_BYTES:
            raise KekFileError(f"a KEK is {DATA_KEY_BYTES} bytes, not {len(key)}")
        self._cipher = AESGCM(key)
        self._id = hashlib.sha256(b"reunite kek id\0" + key).hexdigest()[:16]

    @property
    def key_id(self) -> str:
        return self._id

    @classmethod
    def load(cls, path: Path) -> FileKek:
        """Read a KEK file, refusing one others may read."""
        try:
            if path.stat().st_mode & 0o077:
                raise KekFileError(f"{path} may be read by others: chmod 600 it")
            kind, _, encoded = path.read_text(encoding="ascii").strip().partition(" ")
        except (OSError, UnicodeDecodeError) as e:
            raise KekFileError(f"cannot read the KEK file {path}: {e}") from None
        if kind != KEK_FORMAT:
            raise KekFileError(f"{path} is not a Reunite KEK file ({KEK_FORMAT})")
        try:
            return cls(base64.b64decode(encoded, validate=True))
        except ValueError as e:
            raise KekFileError(f"{path}: {e}") from None

    def wrap(self, data_key: bytes, person_id: UUID) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._cipher.encrypt(nonce, data_key, person_id.bytes)

    def unwrap(self, wrapped: bytes, person_id: UUID) -> bytes:
        try:
            return self._cipher.decrypt(
                wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], person_id.bytes
            )
        except InvalidTag:
            raise SealError(f"the data key of person {person_id} does not unwrap") from None


def generate_kek_file(path: Path) -> FileKek:
    """Write a new random KEK to path (0600, never over an existing file)."""
    key = AESGCM.generate_key(bit_length=256)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        # O_EXCL with the mode at creation: never overwritten, never readable by others.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KekFileError(f"{path} exists; refusing to overwrite a KEK") from None
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(f"{KEK_FORMAT} {base64.b64encode(key).decode('ascii')}\n")
    return FileKek(key)
