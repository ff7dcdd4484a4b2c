"""Every list pages both ways, as Relay's cursor connections say.

Each list is read whole, then page by page forwards (`first`, `after: endCursor`) and
backwards (`last`, `before: startCursor`): both walks give the whole list in its order,
each row with the same cursor, and each page says truly whether rows lie before it and
after it (hasPreviousPage, hasNextPage) and where it starts and ends.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from schema.types import encode_cursor
from service.access.auth import Role
from service.application.container import Container
from tests.scenarios.counsel import Viewer, World, answer, ask, build_world

pytestmark = pytest.mark.integration

CASEWORKER = Viewer("jo.caseworker", Role.CASEWORKER)
AUDITOR = Viewer("al.auditor", Role.AUDITOR)
PAGE_INFO = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"


@pytest.fixture
async def world(container: Container) -> World:
    return await build_world(container)


def lists(world: World) -> dict[str, tuple[str, str, Viewer]]:
    """Each list: its field with arguments ({paging} where the page's go), the key of a
    row, and who reads it."""
    ana = world.cases["ana"].family_id
    return {
        # First: the caseworker's pages of the others are reads the access log records.
        "accessLog": ("accessLog({paging})", "id", AUDITOR),
        "children": ("children({paging}) ", "childId", CASEWORKER),
        "children by separation": (
            "children(orderBy: SEPARATED_AT, {paging})",
            "childId",
            CASEWORKER,
        ),
        "children of a filter": (
            "children(filter: {{status: IN_CARE}}, {paging})",
            "childId",
            CASEWORKER,
        ),
        "parents": ("parents({paging})", "parentId", CASEWORKER),
        "reinterviewEligible": ("reinterviewEligible({paging})", "parentId", CASEWORKER),
        "families": ("families({paging})", "familyId", CASEWORKER),
        "timeline": (f'timeline(familyId: "{ana}", {{paging}})', "version", CASEWORKER),
    }


def query(field: str, key: str, paging: str) -> str:
    edges = f"edges {{ cursor node {{ {key} }} }}"
    return f"{{ list: {field.format(paging=paging)} {{ {edges} {PAGE_INFO} }} }}"


async def page(world: World, viewer: Viewer, field: str, key: str, paging: str) -> Any:
    return (await answer(world.container, viewer, query(field, key, paging)))["list"]


def rows(found: Any, key: str) -> list[tuple[Any, str]]:
    return [(e["node"][key], e["cursor"]) for e in found["edges"]]


async def walk(world: World, viewer: Viewer, field: str, key: str, size: int) -> None:
    whole = await page(world, viewer, field, key, "first: 100")
    everything = rows(whole, key)
    assert len(everything) > size, field  # the world makes each list span pages
    assert whole["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": False,
        "startCursor": everything[0][1],
        "endCursor": everything[-1][1],
    }
    forwards: list[tuple[Any, str]] = []
    paging = f"first: {size}"
    while True:
        found = await page(world, viewer, field, key, paging)
        got = rows(found, key)
        info = found["pageInfo"]
        assert info["startCursor"] == got[0][1] and info["endCursor"] == got[-1][1]
        assert info["hasPreviousPage"] is bool(forwards), (field, len(forwards))
        forwards += got
        assert info["hasNextPage"] is (len(forwards) < len(everything)), field
        if not info["hasNextPage"]:
            break
        paging = f'first: {size}, after: "{info["endCursor"]}"'
    assert forwards == everything, field
    backwards: list[tuple[Any, str]] = []
    paging = f"last: {size}"
    while True:
        found = await page(world, viewer, field, key, paging)
        got = rows(found, key)
        info = found["pageInfo"]
        assert info["startCursor"] == got[0][1] and info["endCursor"] == got[-1][1]
        assert info["hasNextPage"] is bool(backwards), (field, len(backwards))
        backwards = got + backwards
        assert info["hasPreviousPage"] is (len(backwards) < len(everything)), field
        if not info["hasPreviousPage"]:
            break
        paging = f'last: {size}, before: "{info["startCursor"]}"'
    # The same rows in the same order, each with the same cursor: cursors are stable.
    assert backwards == everything, field
    # Past either end: an empty page, which says what lies on its other side.
    past_end = await page(world, viewer, field, key, f'first: 2, after: "{everything[-1][1]}"')
    assert past_end == {
        "edges": [],
        "pageInfo": {
            "hasNextPage": False,
            "hasPreviousPage": True,
            "startCursor": None,
            "endCursor": None,
        },
    }
    before_start = await page(world, viewer, field, key, f'last: 2, before: "{everything[0][1]}"')
    assert before_start["edges"] == [] and before_start["pageInfo"]["hasNextPage"] is True
    assert before_start["pageInfo"]["hasPreviousPage"] is False


async def test_every_list_pages_forwards_and_backwards(world: World) -> None:
    # Reads to fill the access log with, as a caseworker's answers are recorded.
    for case in world.cases.values():
        await answer(
            world.container,
            CASEWORKER,
            "query($id: UUID!) { family(id: $id) { version } }",
            id=str(case.family_id),
        )
    for field, key, viewer in lists(world).values():
        for size in (1, 2):
            await walk(world, viewer, field, key, size)


def test_forward_cursors_are_the_keyset_values_they_were() -> None:
    # Pinned: clients keep cursors between pages, and a page's cursor is the row's key.
    assert encode_cursor(7) == base64.urlsafe_b64encode(b"7").decode()


@pytest.mark.parametrize(
    ("paging", "code"),
    [
        ('first: 2, after: "MQ==", before: "Mg=="', "BAD_ARGUMENT"),
        ('last: 2, after: "MQ=="', "BAD_ARGUMENT"),
        ('before: "Mg=="', "BAD_ARGUMENT"),
        ("last: 0", "BAD_PAGE_SIZE"),
        ("last: -1", "BAD_PAGE_SIZE"),
        ('last: 2, before: "bm90IGEgY3Vyc29y"', "BAD_CURSOR"),
    ],
)
async def test_paging_both_ways_at_once_or_badly_is_refused(
    world: World, paging: str, code: str
) -> None:
    for field, key, viewer in lists(world).values():
        _, errors = await ask(world.container, viewer, query(field, key, paging))
        assert [e.extensions["code"] for e in errors] == [code], (field, paging)
