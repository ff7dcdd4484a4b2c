"""`reunite replay`: an auditor reads a family's history and who was where, from a shell."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from domain.values import CustodyKind, Facility, FieldChange
from service.application.commands import CommandContext
from service.application.container import Container
from service.entrypoints.cli import main as reunite
from service.eventstore.provenance import Provenance
from service.postgres.database import Database
from tests.scenarios.family import at, ctx, open_separated_family
from tests.scenarios.ledger import Cli

pytestmark = pytest.mark.integration

TORNILLO = Facility("tornillo", "Tornillo", "TX")
PORT_ISABEL = Facility("port-isabel", "Port Isabel Detention Center", "TX")


@pytest.fixture
def cli(
    database_url: str,
    database: Database,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Cli:
    monkeypatch.setenv("DATABASE_URL", database_url)
    capsys.readouterr()
    return Cli(capsys, database.pool)


async def a_corrected_family(container: Container) -> tuple[str, str]:
    """Ana detained, Beto placed at Casa Padre, then corrected to Tornillo; and when."""
    family_id, mother, _, _ = await open_separated_family(container.commands)
    await container.commands.execute(
        family_id, lambda f: f.detain_parent(mother, PORT_ISABEL, CustodyKind.ICE, at(2)), ctx()
    )
    [*_, detained] = await container.store.read_stream(family_id)
    await container.commands.execute(
        family_id,
        lambda f: f.correct_entry(6, (FieldChange("facility", TORNILLO),), "wrong shelter", at(5)),
        ctx(),
    )
    return str(family_id), detained.recorded_at.isoformat()


async def test_replay_prints_each_step_and_who_is_where_after_it(
    container: Container, cli: Cli
) -> None:
    family, _ = await a_corrected_family(container)

    code, out, _ = await cli("replay", family)

    lines = out.splitlines()
    assert code == 0
    assert lines[0] == f"family {family}, case C-7: as known now; 8 events recorded, 7 counted"
    assert lines[2].startswith("v1    2018-05-20 09:00 UTC  Case C-7 opened (source: test)")
    assert "recorded " in lines[3] and "by maria.lopez (caseworker), source test" in lines[3]
    placed = lines.index(next(x for x in lines if "Beto (child) placed at Casa Padre" in x))
    assert lines[placed].endswith("[amended by v8]")
    assert lines[placed + 2] == (
        "      -> Ana (parent): nothing recorded | Beto (child): in care at Casa Padre"
    )
    assert lines[placed + 5].endswith(
        "-> Ana (parent): ICE custody at Port Isabel Detention Center"
        " | Beto (child): in care at Casa Padre"
    )
    assert "Entry 6 corrected (facility -> Tornillo); reason: wrong shelter" in lines[placed + 6]
    assert lines[placed + 8].endswith("Beto (child): in care at Tornillo")
    assert lines[-3:] == [
        "who is where (separated, version 8):",
        "  Ana (parent): ICE custody at Port Isabel Detention Center",
        "  Beto (child): in care at Tornillo",
    ]


async def test_replay_as_recorded_stops_before_what_came_later(
    container: Container, cli: Cli
) -> None:
    family, detained_at = await a_corrected_family(container)

    code, out, _ = await cli("replay", family, "--as-of-recorded", detained_at)

    assert code == 0
    assert out.splitlines()[0].endswith(
        f"as recorded by {detained_at}; 7 events recorded, 7 counted"
    )
    assert "corrected" not in out
    assert out.splitlines()[-1] == "  Beto (child): in care at Casa Padre"


async def test_replay_as_of_a_date_shows_the_world_then_as_known_now(
    container: Container, cli: Cli
) -> None:
    family, _ = await a_corrected_family(container)
    day_before_placement = (at(3) - timedelta(days=1)).date().isoformat()

    code, out, _ = await cli("replay", family, "--as-of-occurred", day_before_placement)

    assert code == 0
    assert out.splitlines()[0].endswith(
        f"on {day_before_placement}, as known now; 8 events recorded, 6 counted"
    )
    assert out.splitlines()[-2:] == [
        "  Ana (parent): ICE custody at Port Isabel Detention Center",
        "  Beto (child): separated",
    ]


async def test_replay_refuses_an_unknown_family_and_a_moment_without_a_zone(
    container: Container, cli: Cli, capsys: pytest.CaptureFixture[str]
) -> None:
    family, _ = await a_corrected_family(container)
    unknown = str(uuid4())

    code, _, err = await cli("replay", unknown)
    assert code == 2 and err == f"no event of family {unknown} in the log (as known now)\n"

    with pytest.raises(SystemExit) as exited:
        reunite(["replay", family, "--as-of-recorded", "2018-06-01T00:00:00"])
    assert exited.value.code == 2
    assert "has no time zone" in capsys.readouterr().err


async def test_replay_as_of_a_date_shows_a_corrected_event_on_its_own_row(
    container: Container, cli: Cli
) -> None:
    family_id, mother, _, _ = await open_separated_family(container.commands)
    await container.commands.execute(
        family_id, lambda f: f.detain_parent(mother, PORT_ISABEL, CustodyKind.ICE, at(2)), ctx()
    )
    reviewer = Provenance("sam.reviewer", "caseworker", "review", "wrong shelter")
    await container.commands.execute(
        family_id,
        lambda f: f.correct_entry(6, (FieldChange("facility", TORNILLO),), "wrong shelter", at(5)),
        CommandContext(reviewer),
    )

    code, out, _ = await cli("replay", str(family_id), "--as-of-occurred", "2018-05-24")

    assert code == 0
    lines = out.splitlines()
    steps = [line for line in lines if line.startswith("v")]
    assert [line.split()[0] for line in steps] == [f"v{v}" for v in range(1, 8)]
    # The placement's own row, as corrected: its version, date and recorder, marked.
    assert steps[5] == (
        "v6    2018-05-23 09:00 UTC  Beto (child) placed at Tornillo (shelter) [amended by v8]"
    )
    placed = lines.index(steps[5])
    assert lines[placed + 1].endswith("by maria.lopez (caseworker), source test")
    assert lines[placed + 2].endswith("Beto (child): in care at Tornillo")
    assert "sam.reviewer" not in out
