"""The auditor console in a real browser: Debian's headless Chromium driven by Playwright.

Each role signs in with its token; the seed story's family is found, replayed on both clocks,
verified and exported (the bundle then checked offline); counsel sees what it may not read as
withheld; an analyst charts the court figures; a family tampered with in this test's own
database shows as broken. Screenshots of each screen go to tests/e2e/screenshots/ (not
committed; REUNITE_SCREENSHOTS moves them)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import shutil
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest

from bench.long_family import long_history, record
from service.access.auth import Role
from service.entrypoints.app import create_app
from service.entrypoints.console import CSP
from service.eventstore.codec import create_mapper
from service.eventstore.store import EventStore
from service.ledger.checkpoints import CheckpointTaker
from service.ledger.keys import KeySettings, generate_keys
from service.postgres.database import Database
from service.settings import Settings
from tests.scenarios.graphql import SECRET, Client, free_port, token
from tests.scenarios.ledger import bypassing_the_guard, settled
from tests.scenarios.story import Caseworker, day

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
AXE = Path(__file__).parents[2] / "clients" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = Path(os.environ.get("REUNITE_SCREENSHOTS", Path(__file__).with_name("screenshots")))
playwright_api = pytest.importorskip("playwright.async_api")
if not Path(CHROMIUM).exists():
    pytest.skip(
        "no chromium: apt-get install chromium chromium-driver (make test does)",
        allow_module_level=True,
    )
COUNSEL = "dana.counsel"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A signing key the server signs checkpoints with, as REUNITE_SIGNING_KEY_FILE says."""
    folder = tmp_path_factory.mktemp("keys")
    generate_keys(folder)
    saved = {k: os.environ.get(k) for k in ("REUNITE_SIGNING_KEY_FILE", "REUNITE_VERIFY_KEY_FILE")}
    os.environ["REUNITE_SIGNING_KEY_FILE"] = str(folder / "signing-key.pem")
    os.environ.pop("REUNITE_VERIFY_KEY_FILE", None)
    yield folder
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="module")
async def server_settings(settings: Settings, keys: Path) -> Settings:
    # Production settings but for the console: it is off unless enabled.
    return dataclasses.replace(settings, jwt_secret=SECRET, port=free_port(), console=True)


async def seed_story(cw: Client, case: str, a_number: str) -> dict[str, str]:
    """The seed's story, shortened: a mother and her son from separation to reunification."""
    recorder = Caseworker(cw)
    rec = recorder.record
    opened = await rec(
        "openCase", "OpenCaseInput", caseNumber=case, source="CBP intake", occurredAt=day(0)
    )
    recorder.family_id = opened["familyId"]
    mother = (
        await rec(
            "addMember",
            "AddMemberInput",
            role="PARENT",
            sex="FEMALE",
            name="Ana Lucía",
            country="GT",
            aNumber=a_number,
            occurredAt=day(0),
        )
    )["createdId"]
    son = (
        await rec(
            "addMember",
            "AddMemberInput",
            role="CHILD",
            sex="MALE",
            name="Mateo",
            age=4,
            country="GT",
            occurredAt=day(0),
        )
    )["createdId"]
    await rec(
        "recordRelationship",
        "RecordRelationshipInput",
        parentId=mother,
        childId=son,
        kind="MOTHER",
        evidence="CLAIMED",
        occurredAt=day(0),
    )
    port = {"kind": "PORT_OF_ENTRY", "name": "San Ysidro"}
    await rec(
        "recordApprehension",
        "ApprehendInput",
        personIds=[mother, son],
        place=port,
        agency="OFFICE_OF_FIELD_OPERATIONS",
        occurredAt=day(0),
    )
    await rec(
        "recordSeparation",
        "RecordSeparationInput",
        parentId=mother,
        childId=son,
        place=port,
        reason="ZERO_TOLERANCE",
        occurredAt=day(1),
    )
    await rec(
        "referChild",
        "ReferChildInput",
        childId=son,
        hoursInCbpCustody=52,
        office={"id": "SND", "name": "San Diego ERO"},
        occurredAt=day(2),
    )
    placed = await rec(
        "recordPlacement",
        "RecordPlacementInput",
        childId=son,
        programType="SHELTER",
        occurredAt=day(3),
        facility={"id": "swk-casa-padre", "name": "Casa Padre", "state": "TX"},
    )
    await rec(
        "detainParent",
        "CustodyInput",
        parentId=mother,
        custody="ICE",
        occurredAt=day(2),
        facility={"id": "port-isabel", "name": "Port Isabel", "state": "TX"},
    )
    await rec(
        "decideCredibleFear",
        "DecideCredibleFearInput",
        personId=mother,
        outcome="NEGATIVE",
        language="K'iche'",
        whileSeparated=True,
        occurredAt=day(10),
    )
    await rec(
        "orderRemoval", "OrderRemovalInput", parentId=mother, kind="EXPEDITED", occurredAt=day(11)
    )
    await rec(
        "removeParent", "RemoveParentInput", parentId=mother, country="GT", occurredAt=day(15)
    )
    await rec(
        "attemptLocation",
        "AttemptLocationInput",
        parentId=mother,
        method="phone",
        outcome="FOUND",
        byWhom="class counsel",
        occurredAt=day(60),
    )
    await rec(
        "returnParent", "ReturnParentInput", parentId=mother, how="PAROLE", occurredAt=day(140)
    )
    await rec(
        "recordReunification",
        "RecordReunificationInput",
        childId=son,
        parentId=mother,
        occurredAt=day(141),
        place={"kind": "FACILITY", "name": "Casa Padre"},
    )
    await rec(
        "correctEntry",
        "CorrectEntryInput",
        version=placed["version"],
        changes=[
            {
                "field": "facility",
                "value": {
                    "id": "swk-casa-padre",
                    "name": "Southwest Key Casa Padre",
                    "state": "TX",
                },
            }
        ],
        reason="facility name as on the ORR placement record",
        occurredAt=day(150),
    )
    # Counsel of record for the mother, without her consent to disclose her asylum facts.
    last = await rec(
        "recordRepresentation",
        "RecordRepresentationInput",
        personId=mother,
        counsel=COUNSEL,
        basis="NOTICE_OF_APPEARANCE",
        consentToDisclosure=False,
        occurredAt=day(150),
    )
    return {
        "family": recorder.family_id,
        "mother": mother,
        "son": son,
        "position": last["position"],
    }


@pytest.fixture(scope="module")
async def story(
    server: str, server_settings: Settings, database: Database, keys: Path
) -> AsyncIterator[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=server, timeout=30) as http:
        cw = Client(http, token(server_settings, Role.CASEWORKER))
        seed = await seed_story(cw, "JSR-0042", "A201234567")
        other = await seed_story(cw, "JSR-0043", "A201234568")
        # A long case of 1,000 events, written straight through the store.
        store = EventStore(database.pool, create_mapper())
        long = long_history(1000)
        await record(store, long)
        await settled(database.pool)
        keyset = KeySettings.from_env()
        await CheckpointTaker(database.pool, keyset.signer(), trusted=keyset.trusted_keys()).take()
        # Wait until the read models have every family.
        auditor = Client(http, token(server_settings, Role.AUDITOR, "al.auditor"))
        for _ in range(300):
            found = await auditor.run(
                "query($id: UUID!) { family(id: $id) { version } }", id=str(long.id)
            )
            if found["family"] and found["family"]["version"] >= 1000:
                break
            await asyncio.sleep(0.1)
        yield {**seed, "other": other, "long": str(long.id)}


@pytest.fixture(scope="module")
async def browser(story: dict[str, Any]) -> AsyncIterator[Any]:
    await asyncio.to_thread(SHOTS.mkdir, parents=True, exist_ok=True)
    async with playwright_api.async_playwright() as pw:
        chromium = await pw.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        yield chromium
        await chromium.close()


@pytest.fixture
async def page(browser: Any, server: str) -> AsyncIterator[Any]:
    context = await browser.new_context(
        base_url=server, viewport={"width": 1366, "height": 900}, accept_downloads=True
    )
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "console",
        lambda m: errors.append(m.text) if m.type == "error" and "403" not in m.text else None,
    )
    yield page
    await context.close()
    assert not errors, errors


async def sign_in(page: Any, settings: Settings, role: Role, subject: str) -> None:
    await page.goto("/console/")
    await page.get_by_label("Bearer token").fill(token(settings, role, subject))
    await page.get_by_role("button", name="Sign in").click()
    await page.locator("#who").wait_for()


async def open_case(page: Any, case: str, search: str | None = None) -> None:
    await page.get_by_label("Case number, name, A-number or family id").fill(search or case)
    await page.get_by_role("button", name="Search").click()
    try:
        await page.locator("#family-title", has_text=f"Case {case}").wait_for(timeout=5000)
    except playwright_api.TimeoutError:
        raise AssertionError(await page.locator("#search-status").inner_text()) from None


async def no_serious_violations(page: Any) -> None:
    """axe-core's check of the page as it stands: nothing serious or critical."""
    if not AXE.exists():
        pytest.skip("axe-core is not installed: make clients (npm ci in clients/)")
    await page.evaluate(AXE.read_text())
    result = await page.evaluate("async () => await axe.run(document)")
    serious = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not serious, serious


async def shot(page: Any, name: str) -> None:
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def test_the_console_is_served_with_a_strict_policy(server: str) -> None:
    async with httpx.AsyncClient(base_url=server) as http:
        moved = await http.get("/console")
        assert moved.status_code == 308 and moved.headers["location"] == "/console/"
        page = await http.get("/console/")
        assert page.status_code == 200 and page.headers["content-security-policy"] == CSP
        assert "'unsafe-inline'" not in CSP and "script-src 'self'" in CSP
        assert page.headers["cache-control"] == "no-store"
        assert (
            "<script>" not in page.text and " on" not in page.text.split("<body>")[1].split("=")[0]
        )
        script = await http.get("/console/app.js")
        assert script.headers["content-type"].startswith("text/javascript")
        assert (await http.get("/console/../pyproject.toml")).status_code == 404
        assert (await http.get("/console/nothing.js")).status_code == 404


async def test_the_console_is_off_in_production(settings: Settings) -> None:
    app = create_app(dataclasses.replace(settings, jwt_secret=SECRET, console=False))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as c:
        assert (await c.get("/console/")).status_code == 404


async def test_an_auditor_replays_verifies_and_exports_the_seed_story(
    page: Any, server_settings: Settings, story: dict[str, Any], keys: Path, tmp_path: Path
) -> None:
    await sign_in(page, server_settings, Role.AUDITOR, "al.auditor")
    await shot(page, "01-search")
    await open_case(page, "JSR-0042")
    rows = page.locator("#timeline tbody tr")
    await page.locator("#timeline-status", has_text="entries").wait_for()
    assert await rows.count() == 17
    # The corrected placement is struck through and linked to its correction.
    placement = page.locator("#entry-8")
    assert await placement.locator("del").count() == 1
    assert "amended by" in await placement.inner_text()
    assert "amends" in await page.locator("#entry-16").inner_text()
    # Where everyone was: a lane each for the mother and her son.
    await page.locator(".lanes-svg").wait_for()
    assert await page.locator(".lanes-svg .lane").count() == 2
    assert await page.locator(".lanes-svg .k-removed").count() == 1
    assert await page.locator(".lanes-svg .k-contact").count() == 0  # an attempt is no contact
    # Step through the replay on the world's clock, with the keyboard.
    marker = page.get_by_label("Day it happened")
    await marker.focus()
    await page.keyboard.press("Home")
    for _ in range(12):
        await page.keyboard.press("ArrowRight")
    await page.locator("#asof h4", has_text="happened by 2018-06-01").wait_for()
    await page.get_by_role("button", name="Set point A here").click()
    await marker.focus()
    await page.keyboard.press("End")
    await page.locator("#asof h4", has_text="reunified").wait_for()
    await page.get_by_role("button", name="Set point B here").click()
    await page.get_by_role("button", name="What changed from A to B").click()
    diff = page.locator("#diff")
    await diff.locator("h4").wait_for()
    assert "Reunified" in await diff.inner_text()
    await shot(page, "02-family-occurred")
    # The record's clock: the first moment recorded holds the opening only.
    await page.get_by_label("As the record stood").check()
    recorded = page.get_by_label("Moment recorded")
    await recorded.focus()
    await page.keyboard.press("Home")
    await page.locator("#asof", has_text="1 of 1 recorded events").wait_for()
    assert await page.locator(".lanes-svg .faded").count() > 0
    await shot(page, "03-family-recorded")
    # Proof: the chain holds, a signed checkpoint includes it, a bundle verifies offline.
    await page.get_by_role("button", name="Verify this family").click()
    await page.locator("#verdict", has_text="Chain intact").wait_for()
    proof = await page.locator("#verification").inner_text()
    assert "Signing key id" in proof and "Signed checkpoint" in proof
    async with page.expect_download() as downloading:
        await page.get_by_role("button", name="Download the evidence bundle").click()
    download = await downloading.value
    bundle = tmp_path / download.suggested_filename
    await download.save_as(bundle)
    command = await page.locator("#verify-command").inner_text()
    assert command == f"reunite verify-bundle {bundle.name} --public-key verify-key.pem"
    offline = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "service.entrypoints.audit_cli",
        "verify-bundle",
        bundle.name,
        "--public-key",
        str(keys / "verify-key.pem"),
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )
    said = (await offline.communicate())[0].decode()
    assert offline.returncode == 0 and said.startswith("OK"), said
    assert json.loads(bundle.read_text())["family_id"] == story["family"]
    await shot(page, "04-proof")
    # Who read the family: this auditor, among others.
    await page.locator("#reads-table tbody tr").first.wait_for()
    assert "al.auditor" in await page.locator("#reads-table").inner_text()
    await no_serious_violations(page)


async def test_counsel_sees_what_it_may_not_read_as_withheld(
    page: Any, server_settings: Settings, story: dict[str, Any]
) -> None:
    await sign_in(page, server_settings, Role.COUNSEL, COUNSEL)
    await open_case(page, "JSR-0042", "A201234567")  # her A-number finds her case
    await page.locator("#timeline-status", has_text="entries").wait_for()
    assert "withheld" in await page.locator("#timeline-status").inner_text()
    withheld = page.locator("#timeline tr.withheld")
    assert await withheld.count() == 1  # the credible-fear decision (8 CFR 208.6)
    assert await page.locator("#entry-10.withheld").count() == 1
    assert await page.locator("#proof").is_hidden()
    assert await page.locator("#clocks").is_hidden()
    await shot(page, "05-counsel")
    await no_serious_violations(page)


async def test_a_caseworker_finds_a_family_by_name_and_an_admin_reads_none(
    page: Any, server_settings: Settings, story: dict[str, Any]
) -> None:
    await sign_in(page, server_settings, Role.CASEWORKER, "jo.caseworker")
    await page.get_by_label("Case number, name, A-number or family id").fill("mateo")
    await page.get_by_role("button", name="Search").click()
    await page.locator("#search-status", has_text="2 families on page 1").wait_for()
    await page.get_by_role("button", name="JSR-0042").click()
    await page.locator("#family-title", has_text="Case JSR-0042").wait_for()
    await page.locator("#timeline-status", has_text="entries").wait_for()
    assert await page.locator("#timeline-status").inner_text() == "17 entries."
    assert await page.locator("#proof").is_hidden() and await page.locator("#reads").is_hidden()
    await page.get_by_role("button", name="Sign out").click()
    await sign_in(page, server_settings, Role.ADMIN, "ad.admin")
    assert await page.locator("#nothing").is_visible()
    assert await page.locator("#families-panel").is_hidden()


def test_the_console_is_a_setting() -> None:
    assert not Settings.from_env({}).console
    assert Settings.from_env({"REUNITE_CONSOLE": "1"}).console


async def test_an_analyst_charts_the_court_figures(
    page: Any, server_settings: Settings, story: dict[str, Any], tmp_path: Path
) -> None:
    await sign_in(page, server_settings, Role.ANALYST, "an.analyst")
    assert await page.locator("#tab-families").is_hidden()
    await page.get_by_label("From", exact=True).fill("2018-05-01")
    await page.get_by_label("To", exact=True).fill("2018-12-31")
    await page.get_by_role("button", name="Show").click()
    await page.locator("#court-status", has_text="month ends, ").wait_for()
    assert "8 month ends, " in await page.locator("#court-status").inner_text()
    assert await page.locator("#court-table tbody tr").count() == 8
    assert await page.locator("#court-chart polyline").count() == 9
    async with page.expect_download() as downloading:
        await page.get_by_role("button", name="Download CSV").click()
    csv = tmp_path / "court.csv"
    await (await downloading.value).save_as(csv)
    lines = csv.read_text().splitlines()
    assert lines[0].startswith("as_of,children,") and len(lines) == 9
    # Rounded to multiples of 5 for analysts.
    assert all(int(v) % 5 == 0 for line in lines[1:] for v in line.split(",")[1:])
    await shot(page, "06-court")
    await no_serious_violations(page)


async def test_a_tampered_family_shows_broken_naming_the_first_bad_entry(
    page: Any, server_settings: Settings, story: dict[str, Any], database: Database
) -> None:
    await bypassing_the_guard(
        database.pool,
        # A clear value (names are sealed, and a forger cannot reseal): when it was recorded.
        "UPDATE events SET payload = convert_to(replace(convert_from(payload, 'UTF8'),"
        " '\"timestamp\":\"20', '\"timestamp\":\"19'), 'UTF8')"
        " WHERE stream_id = $1 AND version = 3",
        UUID(story["other"]["family"]),
    )
    await sign_in(page, server_settings, Role.AUDITOR, "tam.auditor")
    await open_case(page, "JSR-0043")
    await page.get_by_role("button", name="Verify this family").click()
    await page.locator("#verdict", has_text="Broken").wait_for()
    assert "First bad entry" in await page.locator("#verification").inner_text()
    assert await page.locator("#verification a[href='#entry-3']").count() == 1
    assert await page.locator("#bundle").is_hidden()
    await shot(page, "07-tampered")


async def test_a_family_of_1000_events_renders_within_a_second(
    page: Any, server_settings: Settings, story: dict[str, Any]
) -> None:
    await sign_in(page, server_settings, Role.AUDITOR, "lon.auditor")
    await page.get_by_label("Case number, name, A-number or family id").fill(story["long"])
    started = time.perf_counter()
    await page.get_by_role("button", name="Search").click()
    # First render: the case and its first page of entries; then everyone's lanes and the
    # rest of the entries.
    await page.locator("#entry-100").wait_for()
    first = time.perf_counter() - started
    await page.locator(".lanes-svg").wait_for()
    await page.locator("#timeline-status", has_text="entries").wait_for()
    whole = time.perf_counter() - started
    assert await page.locator("#timeline tbody tr").count() >= 1000
    print(f"1,000-event family: first render {first * 1000:.0f} ms, all {whole * 1000:.0f} ms")
    assert first < 1.0
    assert whole < 5.0
    await page.set_viewport_size({"width": 1280, "height": 800})  # a laptop screen
    assert await page.evaluate("document.documentElement.scrollWidth <= 1280")
    await shot(page, "08-long-family")
