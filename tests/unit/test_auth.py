"""Bearer tokens: development HS256, production RS256/ES256 against configured keys."""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from service.access.auth import AuthenticationFailed, Authenticator, Role
from service.settings import Settings


def claims(role: str = "counsel", ttl: int = 600) -> dict[str, object]:
    return {"sub": "cy.counsel", "role": role, "exp": int(time.time()) + ttl}


def public_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_tokens_signed_by_the_providers_key_are_accepted(tmp_path: Path, algorithm: str) -> None:
    key = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if algorithm == "RS256"
        else ec.generate_private_key(ec.SECP256R1())
    )
    (tmp_path / "provider.pem").write_bytes(public_pem(key))
    settings = Settings(data_dir=tmp_path, jwt_public_key_file=tmp_path / "provider.pem")
    authenticator = Authenticator(settings)
    identity = authenticator.verify(jwt.encode(claims(), key, algorithm=algorithm))
    assert (identity.subject, identity.role) == ("cy.counsel", Role.COUNSEL)
    # With a provider configured, a token signed with a shared secret is refused.
    with pytest.raises(AuthenticationFailed, match="invalid token"):
        authenticator.verify(jwt.encode(claims(), "x" * 40, algorithm="HS256"))
    # Nor does it keep a development secret or mint tokens of its own.
    assert not (tmp_path / "jwt-secret").exists()
    with pytest.raises(AuthenticationFailed, match="identity provider"):
        authenticator.mint("jo", Role.CASEWORKER)


def test_audience_and_issuer_are_required_when_configured(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        jwt_secret="s" * 40,
        jwt_audience="reunite",
        jwt_issuer="https://idp.example",
    )
    authenticator = Authenticator(settings)
    assert authenticator.verify(authenticator.mint("jo", Role.AUDITOR)).role is Role.AUDITOR
    with pytest.raises(AuthenticationFailed):
        authenticator.verify(jwt.encode(claims(), "s" * 40, algorithm="HS256"))


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "missing"),
        ("Basic abc", "Bearer"),
        ("Bearer ", "Bearer"),
        ("Bearer not.a.token", "invalid token"),
    ],
)
def test_malformed_headers_are_refused_with_a_reason(
    tmp_path: Path, header: str | None, message: str
) -> None:
    authenticator = Authenticator(Settings(data_dir=tmp_path, jwt_secret="s" * 40))
    with pytest.raises(AuthenticationFailed, match=message):
        authenticator.verify_header(header)


def test_the_development_secret_is_kept_private_in_the_data_dir(tmp_path: Path) -> None:
    first = Authenticator(Settings(data_dir=tmp_path, dev=True)).mint("jo", Role.CASEWORKER)
    assert Authenticator(Settings(data_dir=tmp_path, dev=True)).verify(first).subject == "jo"
    assert (tmp_path / "jwt-secret").stat().st_mode & 0o777 == 0o600
