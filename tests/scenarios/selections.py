"""Hypothesis strategies of GraphQL documents over the read-model lists: any selection of
the fields of Child, Parent, Facility and Family (aliases, fragments, repeats), pages of any
size either way, orders, filters and cursors, good or bad."""

from __future__ import annotations

from uuid import UUID

from hypothesis import strategies as st

from schema.types import encode_cursor

FACILITY = ("id", "facilityId", "facilityName", "programType", "__typename")
PARENT = [
    "id",
    "parentId",
    "familyId",
    "name",
    "sex",
    "country",
    "aNumber",
    "custody",
    "facilityName",
    "releasedAt",
    "removalOrder",
    "removalElection",
    "removedAt",
    "removedTo",
    "timesRemoved",
    "returnedAt",
    "returnRoute",
    "locationAttempts",
    "located",
    "preference",
    "eligibility",
    "redFlag",
    "situation",
    "settlementElection",
    "asylumReopened",
    "credibleFear",
    "credibleFearWhileSeparated",
    "reinterviewOutcome",
    "reinterviewStance",
    "stale",
    "__typename",
]
CHILD = [
    "id",
    "childId",
    "familyId",
    "name",
    "age",
    "ageBand",
    "sex",
    "country",
    "status",
    "separatedAt",
    "separationReason",
    "separationReasonText",
    "referredAt",
    "referringOffice",
    "placedAt",
    "dischargedAt",
    "dischargeKind",
    "parentSituation",
    "removalCountry",
    "stale",
    "__typename",
]
FAMILY = [
    "id",
    "familyId",
    "caseNumber",
    "status",
    "openedAt",
    "version",
    "lastPosition",
    "updatedAt",
    "stale",
    "parkedSince",
    "staleReadModels",
    "__typename",
]
TIMELINE = [
    "id",
    "position",
    "version",
    "eventType",
    "summary",
    "occurredAt",
    "recordedAt",
    "actor",
    "role",
    "source",
    "reason",
    "correlationId",
    "causationId",
    "amends",
    "amendedBy",
    "__typename",
]
# Fields a plan does not cover (their own resolvers): the operation must be executed.
UNCOVERED = {"Family": "counselOfRecord { counsel }"}
MEMBER = [
    "id",
    "personId",
    "role",
    "name",
    "sex",
    "birthDate",
    "age",
    "country",
    "aNumber",
    "status",
    "facilityId",
    "facilityName",
    "separatedAt",
    "reunifiedAt",
    "reunifiedWith",
    "__typename",
]


@st.composite
def fields(draw: st.DrawFn, type_name: str, names: tuple[str, ...] | list[str]) -> str:
    """A selection set's content over these fields: some aliased, some repeated, some in
    an inline fragment on the type or on Node, rarely one a plan does not cover."""
    chosen = draw(st.lists(st.sampled_from(list(names)), min_size=1, max_size=7))
    parts = []
    for i, name in enumerate(chosen):
        text = f"a{i}: {name}" if draw(st.booleans()) and name != "__typename" else name
        wrap = draw(st.sampled_from(["", "", "type", "node"]))
        if wrap == "type":
            text = f"... on {type_name} {{ {text} }}"
        elif wrap == "node" and name == "id":
            text = f"... on Node {{ {text} }}"
        parts.append(text)
    if type_name in UNCOVERED and draw(st.integers(0, 9)) == 0:
        parts.append(UNCOVERED[type_name])
    return " ".join(parts)


@st.composite
def child_selection(draw: st.DrawFn) -> str:
    body = draw(fields("Child", CHILD))
    if draw(st.booleans()):
        body += f" parents {{ {draw(fields('Parent', PARENT))} }}"
    if draw(st.booleans()):
        body += f" facility {{ {draw(fields('Facility', FACILITY))} }}"
    return body


def node_selection(root: str) -> st.SearchStrategy[str]:
    if root == "children":
        return child_selection()
    if root == "parents" or root in STAKEHOLDERS:
        return fields("Parent", PARENT)
    if root == "timeline":
        return fields("TimelineEntry", TIMELINE)
    return family_selection()


@st.composite
def family_selection(draw: st.DrawFn) -> str:
    body = draw(fields("Family", FAMILY))
    if draw(st.booleans()):
        body += f" members {{ {draw(fields('Member', MEMBER))} }}"
    return body


STAKEHOLDERS = ("reinterviewEligible", "removalsWithoutDocumentedChoice")
OBJECTS = {
    "child": ("Child", "children"),
    "parent": ("Parent", "parents"),
    "family": ("Family", "families"),
}


@st.composite
def object_root(draw: st.DrawFn, root: str, ids: tuple[str, ...]) -> str:
    """One object by its id (one of these, or one no object has)."""
    found = draw(st.one_of(st.sampled_from(ids), st.uuids().map(str)))
    return f'{root}(id: "{found}") {{ {draw(node_selection(OBJECTS[root][1]))} }}'


@st.composite
def connection(draw: st.DrawFn, root: str) -> str:
    """A Connection's selection: some of edges (cursor, node), pageInfo, totalCount."""
    parts = []
    if draw(st.booleans()):
        parts.append("totalCount")
    if draw(st.booleans()):
        info = draw(
            st.lists(
                st.sampled_from(
                    ["hasNextPage", "hasPreviousPage", "startCursor", "endCursor", "__typename"]
                ),
                min_size=1,
                max_size=4,
            )
        )
        parts.append(f"pageInfo {{ {' '.join(info)} }}")
    edge = ["cursor"] if draw(st.booleans()) else []
    if draw(st.integers(0, 4)) > 0:
        edge.append(f"node {{ {draw(node_selection(root))} }}")
    if edge or not parts:
        parts.append(f"edges {{ {' '.join(edge) or '__typename'} }}")
    if draw(st.integers(0, 5)) == 0:
        parts.append("__typename")
    return " ".join(parts)


def cursors(root: str) -> st.SearchStrategy[str]:
    """Cursors: well formed anywhere in the keyset, of another order, or not ours."""
    ids = st.uuids().map(str)
    ours = ids.map(lambda i: encode_cursor(UUID(i)))
    if root == "timeline":
        ours = st.integers(0, 40).map(encode_cursor)
    if root == "families":
        ours = ids.map(lambda i: encode_cursor("2018-05-20T12:00:00+00:00", i))
    dated = ids.map(lambda i: encode_cursor("2018-05-21", i))
    return st.one_of(ours, ours, dated, st.just("not-a-cursor"), st.just(encode_cursor("x")))


@st.composite
def arguments(draw: st.DrawFn, root: str, families: tuple[str, ...]) -> str:
    """A page's arguments: a size (sometimes over a role's cap), either way, a cursor, an
    order and filter; a timeline's family, one of these."""
    found = []
    if root == "timeline":
        found.append(f'familyId: "{draw(st.sampled_from(families))}"')
        flt = draw(
            st.sampled_from(
                ["", 'eventTypes: ["Separated", "CredibleFearDecided"]', 'eventTypes: ["Nope"]']
            )
        )
        if flt:
            found.append(f"filter: {{ {flt} }}")
    size = draw(st.sampled_from([1, 2, 3, 5, 50, 100, 101, 0]))
    if draw(st.integers(0, 3)) == 0:
        found.append(f"last: {size}")
        if draw(st.booleans()):
            found.append(f'before: "{draw(cursors(root))}"')
    else:
        found.append(f"first: {size}")
        if draw(st.booleans()):
            found.append(f'after: "{draw(cursors(root))}"')
    if root == "children":
        if draw(st.booleans()):
            found.append(f"orderBy: {draw(st.sampled_from(['CHILD_ID', 'SEPARATED_AT']))}")
        flt = draw(
            st.sampled_from(
                [
                    "",
                    "status: IN_CARE",
                    "status: WITH_FAMILY",
                    "ageBand: FROM_5_TO_17",
                    'dataQualityFlag: "asylum_flag"',
                    'facilityId: "casa-padre"',
                ]
            )
        )
        if flt:
            found.append(f"filter: {{ {flt} }}")
    elif root == "reinterviewEligible" and draw(st.booleans()):
        found.append(
            f"stance: {draw(st.sampled_from(['AWAITING_REINTERVIEW', 'DECLINED_REVIEW']))}"
        )
    elif root == "parents" and draw(st.booleans()):
        found.append(f"filter: {{ located: {draw(st.sampled_from(['true', 'false']))} }}")
    elif root == "families" and draw(st.booleans()):
        found.append(f'search: "{draw(st.sampled_from(["C-", "Ana", "A012345678", "zz"]))}"')
    return ", ".join(found)


@st.composite
def documents(draw: st.DrawFn, families: tuple[str, ...], ids: dict[str, tuple[str, ...]]) -> str:
    """A query of one or two roots, lists or objects by id, sometimes through a named
    fragment; a timeline is of one of these families, an object one of these `ids` (by
    root) or none."""
    listed = ["children", "parents", "families", "timeline", *OBJECTS, *STAKEHOLDERS]
    roots = draw(st.lists(st.sampled_from(listed), min_size=1, max_size=2))
    parts = []
    for i, root in enumerate(roots):
        if root in OBJECTS:
            parts.append(f"r{i}: {draw(object_root(root, ids[root]))}")
            continue
        args = draw(arguments(root, families))
        parts.append(f"r{i}: {root}({args}) {{ {draw(connection(root))} }}")
    if draw(st.integers(0, 4)) == 0:
        return f"query {{ ...Roots }} fragment Roots on Query {{ {' '.join(parts)} }}"
    return f"query {{ {' '.join(parts)} }}"
