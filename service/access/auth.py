"""Bearer-token authentication: who is calling, in which role."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import jwt

from service.settings import Settings

HS_ALGORITHMS = ["HS256"]
PUBLIC_KEY_ALGORITHMS = ["RS256", "ES256"]


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


class AuthenticationFailed(Exception):
    """The request carries no valid token; answered with 401."""


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
            else settings.jwt_secret or _development_secret(settings.data_dir)
        )

    def verify(self, token: str) -> Identity:
        """The identity a token proves, or AuthenticationFailed saying why not."""
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
            raise AuthenticationFailed(f"invalid token: {e}") from None
        try:
            role = Role(claims.get("role"))
        except ValueError:
            raise AuthenticationFailed(f"unknown role {claims.get('role')!r}") from None
        return Identity(str(claims["sub"]), role)

    def verify_header(self, header: str | None) -> Identity:
        """Verify an Authorization header of the form 'Bearer <token>'."""
        if not header:
            raise AuthenticationFailed("missing Authorization: Bearer token")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationFailed("Authorization header must be 'Bearer <token>'")
        return self.verify(token.strip())

    def mint(self, subject: str, role: Role, ttl_seconds: int = 8 * 3600) -> str:
        """A development token signed with the shared secret."""
        if self.secret is None:
            raise AuthenticationFailed("tokens come from the identity provider in this setup")
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


def _development_secret(data_dir: Path) -> str:
    """A random secret kept in the data directory, so dev tokens survive restarts."""
    path = data_dir / "jwt-secret"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()
