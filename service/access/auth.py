"""Bearer-token authentication: who is calling, in which role."""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass, field
from enum import Enum

import jwt

from service.settings import Settings, write_private

log = logging.getLogger(__name__)

HS_ALGORITHMS = ["HS256"]
PUBLIC_KEY_ALGORITHMS = ["RS256", "ES256"]
MIN_SECRET_BYTES = 32  # HS256's own key size; a shorter secret can be guessed offline
DEFAULT_TTL = 8 * 3600


class Role(Enum):
    """What a caller may do; each token carries exactly one."""

    CASEWORKER = "caseworker"
    COUNSEL = "counsel"
    AUDITOR = "auditor"
    ANALYST = "analyst"
    ADMIN = "admin"


@dataclass(frozen=True)
class Identity:
    """A verified caller: the token's subject and role."""

    subject: str
    role: Role
    # When the token stops proving it (Unix time); a websocket session ends then.
    expires_at: float | None = field(default=None, compare=False)


# Roles that read every family or run the service: a leaked token of theirs costs most.
PRIVILEGED_TTL = {Role.ADMIN: 3600, Role.AUDITOR: 3600}
MAX_TTL = 12 * 3600


def max_ttl(role: Role) -> int:
    """The longest lifetime, in seconds, of a token `mint` makes for a role."""
    return PRIVILEGED_TTL.get(role, MAX_TTL)


class AuthenticationFailed(Exception):
    """The request carries no valid token; answered with 401."""


class SecretRefused(Exception):
    """A configured secret is too weak or too exposed to sign tokens; the server won't start."""


class Authenticator:
    """Verifies bearer tokens against the configured key and mints development ones."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.public_key = (
            settings.jwt_public_key_file.read_text() if settings.jwt_public_key_file else None
        )
        self.jwks = jwt.PyJWKClient(settings.jwks_url) if settings.jwks_url else None
        # A shared secret only when no provider key is configured: production writes no file.
        self.secret = (
            None
            if self.public_key or self.jwks
            else settings.jwt_secret or _development_secret(settings)
        )
        if self.secret is not None and len(self.secret.encode()) < MIN_SECRET_BYTES:
            raise SecretRefused(
                f"REUNITE_JWT_SECRET is {len(self.secret.encode())} bytes; at least"
                f" {MIN_SECRET_BYTES} are needed (e.g. python -c 'import secrets;"
                " print(secrets.token_urlsafe(32))')"
            )
        # The generated secret lies in a file: only a --dev server trusts what it signs.
        self.refuses_secret = (
            self.secret is not None and settings.jwt_secret is None and not settings.dev
        )

    def verify(self, token: str) -> Identity:
        """The identity a token proves, or AuthenticationFailed saying why not."""
        if self.refuses_secret:
            raise AuthenticationFailed(
                "not in development mode: configure an identity provider key or"
                " REUNITE_JWT_SECRET to accept tokens"
            )
        try:
            claims = jwt.decode(
                token,
                self._key(token),
                algorithms=self._algorithms(),
                audience=self.settings.jwt_audience,
                issuer=self.settings.jwt_issuer,
                options={"require": ["sub", "exp"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthenticationFailed("token has expired") from None
        except jwt.PyJWTError as e:
            # The library's reason is for the operator; the caller learns only that it failed.
            log.info("token refused: %s", e)
            raise AuthenticationFailed("invalid token") from None
        try:
            role = Role(claims.get("role"))
        except ValueError:
            raise AuthenticationFailed(f"unknown role {claims.get('role')!r}") from None
        return Identity(str(claims["sub"]), role, float(claims["exp"]))

    def verify_header(self, header: str | None) -> Identity:
        """Verify an Authorization header of the form 'Bearer <token>'."""
        if not header:
            raise AuthenticationFailed("missing Authorization: Bearer token")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationFailed("Authorization header must be 'Bearer <token>'")
        return self.verify(token.strip())

    def mint(self, subject: str, role: Role, ttl_seconds: int | None = None) -> str:
        """A token signed with the shared secret, living at most `max_ttl(role)` seconds."""
        if self.secret is None:
            raise AuthenticationFailed("tokens come from the identity provider in this setup")
        if ttl_seconds is None:
            ttl_seconds = min(DEFAULT_TTL, max_ttl(role))
        if ttl_seconds > max_ttl(role):
            raise ValueError(f"a {role.value} token lives at most {max_ttl(role)} s")
        now = int(time.time())
        claims = {"sub": subject, "role": role.value, "iat": now, "exp": now + ttl_seconds}
        if self.settings.jwt_audience:
            claims["aud"] = self.settings.jwt_audience
        if self.settings.jwt_issuer:
            claims["iss"] = self.settings.jwt_issuer
        return jwt.encode(claims, self.secret, algorithm="HS256")

    def _algorithms(self) -> list[str]:
        return PUBLIC_KEY_ALGORITHMS if (self.public_key or self.jwks) else HS_ALGORITHMS

    def _key(self, token: str) -> str | jwt.PyJWK:
        if self.jwks is not None:
            return self.jwks.get_signing_key_from_jwt(token)
        key = self.public_key or self.secret
        assert key is not None, "a public key, a JWKS URL or a secret is always configured"
        return key


def _development_secret(settings: Settings) -> str:
    """A random secret kept in the data directory, so dev tokens survive restarts."""
    return kept_secret(
        settings, "jwt-secret", "delete it (a new one is made) or set REUNITE_JWT_SECRET"
    )


def kept_secret(settings: Settings, name: str, remedy: str) -> str:
    """The random secret in the private data directory's file `name`, made on first use;
    SecretRefused, naming the remedy, when others may read the file."""
    path = settings.private_data_dir() / name
    # Created whole and 0600 in one step; of two processes starting at once, one's is kept.
    if not path.exists():
        write_private(path, secrets.token_urlsafe(32), replace=False)
    if path.stat().st_mode & 0o077:
        raise SecretRefused(f"{path} is readable by others; {remedy}")
    return path.read_text().strip()
