"""Ed25519 keys for signing checkpoints: where they live, generating, loading, signing, checking.

Configuration, from the environment (kept here rather than in service.settings so that the
audit tools stay usable without the rest of the service's settings):

- ``REUNITE_SIGNING_KEY_FILE``: PEM (PKCS#8) Ed25519 private key that signs checkpoints.
  Needed by ``reunite checkpoint``, ``reunite export`` and periodic checkpoints.
- ``REUNITE_VERIFY_KEY_FILE``: optional PEM public key(s) that ``reunite verify`` and
  ``verifyFamily`` trust, and that the latest checkpoint must be signed with before a new one
  is signed over it. Several keys may be concatenated in the file, so checkpoints signed
  before a key rotation still verify. Unset: the signing key's public half is trusted; with
  neither set, each checkpoint is checked against the public key stored in its own row, which
  shows integrity but not who signed.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SIGNING_KEY_NAME = "signing-key.pem"
VERIFY_KEY_NAME = "verify-key.pem"
PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z ]+)-----.+?-----END \1-----", re.DOTALL)


class KeyFileError(Exception):
    """A key is missing, unreadable, of the wrong kind, or would be overwritten."""


def key_id(public_key: bytes) -> str:
    """A short, stable name for a raw public key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(public_key).hexdigest()[:16]


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of a public key, as stored beside each checkpoint."""
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def signature_holds(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """Whether signature is public_key's Ed25519 signature of message."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True)
class Signer:
    """A private key ready to sign checkpoints, with the public half it is known by."""

    private_key: Ed25519PrivateKey = field(repr=False)
    public_key: bytes
    key_id: str

    @classmethod
    def from_private_key(cls, private_key: Ed25519PrivateKey) -> Signer:
        """Wrap a private key, deriving its public key and id."""
        public = raw_public_key(private_key.public_key())
        return cls(private_key, public, key_id(public))

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of message."""
        return self.private_key.sign(message)


def load_signing_key(path: Path) -> Signer:
    """Read a PEM Ed25519 private key."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as e:
        raise KeyFileError(f"cannot read signing key {path}: {e}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path} is not an Ed25519 private key")
    return Signer.from_private_key(key)


def load_public_keys(path: Path) -> frozenset[bytes]:
    """Read one or more concatenated PEM Ed25519 public keys, as raw bytes."""
    try:
        content = path.read_bytes()
    except OSError as e:
        raise KeyFileError(f"cannot read public key {path}: {e}") from None
    keys = set()
    for block in PEM_BLOCK.finditer(content):
        try:
            key = serialization.load_pem_public_key(block.group(0))
        except ValueError as e:
            raise KeyFileError(f"cannot read public key {path}: {e}") from None
        if not isinstance(key, Ed25519PublicKey):
            raise KeyFileError(f"{path} holds a key that is not an Ed25519 public key")
        keys.add(raw_public_key(key))
    if not keys:
        raise KeyFileError(f"{path} holds no PEM public key")
    return frozenset(keys)


def generate_keys(out: Path) -> tuple[Path, Path]:
    """Write a new key pair into out: the private key readable by its owner only."""
    signing, verifying = out / SIGNING_KEY_NAME, out / VERIFY_KEY_NAME
    for path in (signing, verifying):
        if path.exists():
            raise KeyFileError(f"{path} exists; refusing to overwrite a key")
    out.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    _write_new(signing, private_pem, 0o600)
    _write_new(verifying, public_pem, 0o644)
    return signing, verifying


def _write_new(path: Path, content: bytes, mode: int) -> None:
    # O_EXCL: a file that appeared since the check above is still never overwritten, and the
    # mode is set at creation, so the private key is never readable by others, even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as file:
        file.write(content)


@dataclass(frozen=True)
class KeySettings:
    """Where the checkpoint keys are, read from REUNITE_SIGNING_KEY_FILE and _VERIFY_KEY_FILE."""

    signing_key_file: Path | None = None
    verify_key_file: Path | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> KeySettings:
        """Read the two variables; unset or empty means not configured."""
        env = os.environ if env is None else env
        signing = env.get("REUNITE_SIGNING_KEY_FILE")
        verify = env.get("REUNITE_VERIFY_KEY_FILE")
        return cls(Path(signing) if signing else None, Path(verify) if verify else None)

    def signer(self) -> Signer:
        """The configured signing key, or a KeyFileError saying how to configure one."""
        if self.signing_key_file is None:
            raise KeyFileError(
                "no signing key: set REUNITE_SIGNING_KEY_FILE "
                "(create one with `reunite keys generate --out DIR`)"
            )
        return load_signing_key(self.signing_key_file)

    def trusted_keys(self) -> frozenset[bytes] | None:
        """The public keys checkpoints must be signed with, or None to accept each row's own."""
        if self.verify_key_file is not None:
            return load_public_keys(self.verify_key_file)
        if self.signing_key_file is not None:
            return frozenset({self.signer().public_key})
        return None
