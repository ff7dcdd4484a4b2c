"""Secrets handled like secrets: private files, no development secret in production,
no short secret, no long-lived privileged token."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import jwt
import pytest

from service.access.auth import AuthenticationFailed, Authenticator, Role, SecretRefused
from service.entrypoints.cli import main
from service.orr_import.command import report_dir
from service.orr_import.report import ImportReport, write_report
from service.settings import Settings

LONG_ENOUGH = "a-secret-the-operator-chose-of-40-bytes!"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def careless_umask(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Files made without an explicit mode come out world-readable, and chmod after the
    fact does nothing: only a file created private stays private."""
    previous = os.umask(0)
    monkeypatch.setattr(Path, "chmod", lambda *_, **__: None)
    monkeypatch.setattr(os, "chmod", lambda *_, **__: None)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.usefixtures("careless_umask")
def test_the_development_secret_and_its_directory_are_private_from_creation(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "reunite"
    Authenticator(Settings(data_dir=data_dir, dev=True)).mint("jo", Role.CASEWORKER)
    assert mode(data_dir) == 0o700
    assert mode(data_dir / "jwt-secret") == 0o600
    assert [p.name for p in data_dir.iterdir()] == ["jwt-secret"]  # no temporary file left


def test_a_data_directory_made_wider_is_narrowed(tmp_path: Path) -> None:
    data_dir = tmp_path / "reunite"
    data_dir.mkdir(mode=0o700)
    data_dir.chmod(0o777)
    Authenticator(Settings(data_dir=data_dir, dev=True))
    assert mode(data_dir) & 0o066 == 0  # nobody else may list or write it


def test_others_may_still_pass_through_to_the_embedded_server_but_not_list(
    tmp_path: Path,
) -> None:
    # Run as root, the embedded server runs as its own user, which must reach pgdata inside.
    data_dir = tmp_path / "reunite"
    data_dir.mkdir(mode=0o700)
    data_dir.chmod(0o755)  # as the server library opens it
    Authenticator(Settings(data_dir=data_dir, dev=True))
    assert mode(data_dir) == 0o711


def test_a_development_secret_readable_by_others_is_refused(tmp_path: Path) -> None:
    Authenticator(Settings(data_dir=tmp_path, dev=True))
    (tmp_path / "jwt-secret").chmod(0o644)
    with pytest.raises(SecretRefused, match="readable by others"):
        Authenticator(Settings(data_dir=tmp_path, dev=True))


def test_a_production_server_refuses_tokens_signed_with_the_generated_secret(
    tmp_path: Path,
) -> None:
    forged = Authenticator(Settings(data_dir=tmp_path, dev=True)).mint("eve", Role.ADMIN)
    assert Authenticator(Settings(data_dir=tmp_path, dev=True)).verify(forged).subject == "eve"
    with pytest.raises(AuthenticationFailed, match="not in development mode"):
        Authenticator(Settings(data_dir=tmp_path)).verify(forged)
    # Nor one made by hand from the file's content.
    by_hand = jwt.encode(
        {"sub": "eve", "role": "admin", "exp": 2**40},
        (tmp_path / "jwt-secret").read_text().strip(),
        algorithm="HS256",
    )
    with pytest.raises(AuthenticationFailed, match="not in development mode"):
        Authenticator(Settings(data_dir=tmp_path)).verify(by_hand)


def test_a_secret_the_operator_set_is_trusted_in_production(tmp_path: Path) -> None:
    authenticator = Authenticator(Settings(data_dir=tmp_path, jwt_secret=LONG_ENOUGH))
    assert authenticator.verify(authenticator.mint("jo", Role.COUNSEL)).role is Role.COUNSEL
    assert not (tmp_path / "jwt-secret").exists()


@pytest.mark.parametrize("secret", ["a", "x" * 31, "é" * 15])
def test_secrets_shorter_than_32_bytes_are_refused_at_start(tmp_path: Path, secret: str) -> None:
    with pytest.raises(SecretRefused, match="at least 32"):
        Authenticator(Settings(data_dir=tmp_path, jwt_secret=secret))


def test_the_server_will_not_start_with_a_short_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REUNITE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("REUNITE_JWT_SECRET", "a")
    assert main(["token", "--sub", "jo", "--role", "caseworker"]) == 2
    assert "REUNITE_JWT_SECRET is 1 bytes; at least 32" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("role", "longest"),
    [(Role.ADMIN, 3600), (Role.AUDITOR, 3600), (Role.CASEWORKER, 12 * 3600)],
)
def test_token_lifetimes_are_capped_by_role(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    role: Role,
    longest: int,
) -> None:
    monkeypatch.setenv("REUNITE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("REUNITE_JWT_SECRET", LONG_ENOUGH)
    command = ["token", "--sub", "jo", "--role", role.value, "--ttl"]
    assert main([*command, str(longest + 1)]) == 2
    assert f"lives at most {longest} s" in capsys.readouterr().err
    assert main([*command, str(longest)]) == 0
    claims = jwt.decode(capsys.readouterr().out.strip(), LONG_ENOUGH, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == longest
    # Without --ttl: 8 hours, or the role's cap if shorter.
    assert main(command[:-1]) == 0
    claims = jwt.decode(capsys.readouterr().out.strip(), LONG_ENOUGH, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == min(8 * 3600, longest)


@pytest.mark.usefixtures("careless_umask")
def test_import_reports_are_private(tmp_path: Path) -> None:
    report = ImportReport(
        file_name="orr.csv",
        sha256="0" * 64,
        actor="import",
        started_at=datetime(2018, 6, 26, tzinfo=UTC),
        correlation_id=uuid4(),
        rows_read=0,
        rejected=(),
        outcomes=(),
        seconds=0.0,
    )
    settings = Settings(data_dir=tmp_path / "reunite")
    rejects, summary = write_report(report, report_dir(settings))
    assert (mode(rejects), mode(summary)) == (0o600, 0o600)
    assert mode(settings.data_dir) == 0o700
    # A second run replaces the files, still private, never leaving a temporary one behind.
    write_report(report, report_dir(settings))
    assert sorted(p.name for p in report_dir(settings).iterdir()) == [
        "orr.csv.rejects.csv",
        "orr.csv.summary.json",
    ]
    assert rejects.read_text().startswith("row,line,reason,cells")
