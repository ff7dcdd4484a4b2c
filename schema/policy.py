"""Who may read what, and how: the access policy as one table of data (role x fact x use).

Every field of the schema holds, and every argument filters or orders by, one kind of fact
(FIELDS, ARGUMENTS); POLICY says how far each role's use of each fact reaches. The rest is
derived from these tables: the roles each root field admits (schema/permissions.py), the
fields a caller sees as null and the rows a list answers it (`Scope`, schema/scoping.py),
the README's table (`markdown`), and the access tests (tests/integration/test_access_policy.py).
A field or argument missing from the tables fails `classified`, and with it the schema
check and the access tests, so a new one cannot skip the policy.

The one rule for lists: an answer whose membership, order or size depends on a fact is
computed, for a caller whose reach of that fact is partial, over the people (or families)
whose fact it may read, and over no one else.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from uuid import UUID

from graphql import (
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    get_named_type,
)

from service.access.auth import Role


class Fact(Enum):
    """What a field holds or a filter tests, by how much it may be shared."""

    IDENTITY = "identity"
    STATUS = "status"
    ASYLUM = "asylum"
    AUDIT = "audit"
    OPERATIONS = "operations"


FACT_MEANS = {
    Fact.IDENTITY: "who a person is and what was said about them: names, A-numbers, birth "
    "dates, the case history (timeline) and counsel of record",
    Fact.STATUS: "where each child and parent stands: statuses, custody, care, facilities, "
    "dates, removal and return, eligibility, age, sex, country",
    Fact.ASYLUM: "a person's protection claim (8 CFR 208.6): credible fear, the settlement's "
    "election, re-interview and stance, a reopened asylum case, and the entries and flags "
    "of these",
    Fact.AUDIT: "the read audit, the log replayed (time travel), chain verification",
    Fact.OPERATIONS: "the read models' state (projection status); recorded: the erasure of a "
    "person's personal data by order",
}


class Use(Enum):
    """What the caller does with a fact."""

    READ = "read"  # the value of a field
    LIST = "list, filter, order, count"  # which rows a list answers, in what order, how many
    STATISTICS = "statistics"  # counts over every family, in reports
    RECORD = "record"  # a command that appends it


class Reach(Enum):
    """Over whom a use of a fact extends."""

    ALL = "all families"
    CLIENT_FAMILIES = "families of its clients"
    CONSENTING_CLIENTS = "its clients who consented"
    CONTROLLED = "all families, with disclosure control"
    NONE = "no"


# Reaches that depend on whom the caller represents (counsel of record, counsel_clients).
PARTIAL = frozenset({Reach.CLIENT_FAMILIES, Reach.CONSENTING_CLIENTS})

_READS_ALL = {Use.READ: Reach.ALL, Use.LIST: Reach.ALL}

# The policy. What a role is not given here, it may not do (Reach.NONE).
POLICY: dict[Role, dict[Fact, dict[Use, Reach]]] = {
    Role.CASEWORKER: {
        Fact.IDENTITY: {**_READS_ALL, Use.RECORD: Reach.ALL},
        Fact.STATUS: {**_READS_ALL, Use.STATISTICS: Reach.ALL, Use.RECORD: Reach.ALL},
        Fact.ASYLUM: {**_READS_ALL, Use.RECORD: Reach.ALL},
    },
    # Counsel of record reads the families of the people it represents, and the asylum facts
    # of the clients who consented to their disclosure; without a representation (class
    # counsel), where each child and parent stands, not who they are, and no asylum fact.
    Role.COUNSEL: {
        Fact.IDENTITY: {Use.READ: Reach.CLIENT_FAMILIES, Use.LIST: Reach.CLIENT_FAMILIES},
        Fact.STATUS: {**_READS_ALL, Use.STATISTICS: Reach.ALL},
        Fact.ASYLUM: {Use.READ: Reach.CONSENTING_CLIENTS, Use.LIST: Reach.CONSENTING_CLIENTS},
    },
    Role.AUDITOR: {
        Fact.IDENTITY: dict(_READS_ALL),
        Fact.STATUS: {**_READS_ALL, Use.STATISTICS: Reach.ALL},
        Fact.ASYLUM: dict(_READS_ALL),
        Fact.AUDIT: {Use.READ: Reach.ALL},
        Fact.OPERATIONS: {Use.READ: Reach.ALL},
    },
    Role.ANALYST: {Fact.STATUS: {Use.STATISTICS: Reach.CONTROLLED}},
    # An admin runs the service: it may erase a person's personal data by order (recorded,
    # its key destroyed), and still reads no one's.
    Role.ADMIN: {Fact.OPERATIONS: {Use.READ: Reach.ALL, Use.RECORD: Reach.ALL}},
}


def reach(role: Role | None, fact: Fact, use: Use) -> Reach:
    """How far a role's use of a fact extends."""
    if role is None:
        return Reach.NONE
    return POLICY[role].get(fact, {}).get(use, Reach.NONE)


def roles_for(fact: Fact, use: Use) -> tuple[Role, ...]:
    """The roles that may use a fact so, over anyone at all."""
    return tuple(r for r in Role if reach(r, fact, use) is not Reach.NONE)


# Each root field: the fact its answer is made of, and the use (its gate: roles_for).
QUERIES: dict[str, tuple[Fact, Use]] = {
    "family": (Fact.STATUS, Use.READ),
    "families": (Fact.STATUS, Use.LIST),
    "timeline": (Fact.IDENTITY, Use.LIST),
    "child": (Fact.STATUS, Use.READ),
    "parent": (Fact.STATUS, Use.READ),
    "children": (Fact.STATUS, Use.LIST),
    "parents": (Fact.STATUS, Use.LIST),
    "reinterviewEligible": (Fact.ASYLUM, Use.LIST),
    "removalsWithoutDocumentedChoice": (Fact.STATUS, Use.LIST),
    "courtReport": (Fact.STATUS, Use.STATISTICS),
    "facilities": (Fact.STATUS, Use.STATISTICS),
    "projectionStatus": (Fact.OPERATIONS, Use.READ),
    "accessLog": (Fact.AUDIT, Use.READ),
    "accessLogArchivedMonths": (Fact.AUDIT, Use.READ),
    "familyAsOf": (Fact.AUDIT, Use.READ),
    "familyDiff": (Fact.AUDIT, Use.READ),
    "verifyFamily": (Fact.AUDIT, Use.READ),
    "familyBundle": (Fact.AUDIT, Use.READ),
    # Any object by its global id, answered through the root field that answers it
    # directly, that field's gate and scope included (schema/node_queries.py).
    "node": (Fact.STATUS, Use.READ),
    "nodes": (Fact.STATUS, Use.READ),
}
SUBSCRIPTIONS: dict[str, tuple[Fact, Use]] = {
    "familyEvents": (Fact.IDENTITY, Use.LIST),
    "caseStatusChanged": (Fact.STATUS, Use.LIST),
}
_RECORDED_BY_FACT = {
    Fact.IDENTITY: ("openCase", "addMember", "recordRelationship"),
    Fact.ASYLUM: ("decideCredibleFear", "electSettlement", "reinterview", "reopenAsylumCase"),
}
_IDENTITY_RECORDS = (*_RECORDED_BY_FACT[Fact.IDENTITY], "recordRepresentation", "endRepresentation")
_STATUS_RECORDS = (
    "recordApprehension",
    "flagDataQuality",
    "closeCase",
    "correctEntry",
    "retractEntry",
    "recordSeparation",
    "referChild",
    "recordPlacement",
    "transferChild",
    "establishContact",
    "determineEligibility",
    "recordReunification",
    "dischargeChild",
    "detainParent",
    "transferParent",
    "releaseParent",
    "orderRemoval",
    "signRemovalElection",
    "removeParent",
    "returnParent",
    "attemptLocation",
    "recordPreference",
)
MUTATIONS: dict[str, tuple[Fact, Use]] = {
    **{name: (Fact.IDENTITY, Use.RECORD) for name in _IDENTITY_RECORDS},
    **{name: (Fact.STATUS, Use.RECORD) for name in _STATUS_RECORDS},
    **{name: (Fact.ASYLUM, Use.RECORD) for name in _RECORDED_BY_FACT[Fact.ASYLUM]},
    "erasePersonalData": (Fact.OPERATIONS, Use.RECORD),
}
ROOTS = {"Query": QUERIES, "Subscription": SUBSCRIPTIONS, "Mutation": MUTATIONS}

# What each field of the types a partially reaching caller (counsel) can be answered holds.
# None: no fact of a person (paging, cursors, structure); a list's rows follow the list's.
_S, _I, _A = Fact.STATUS, Fact.IDENTITY, Fact.ASYLUM
_PAGED: dict[str, Fact | None] = {"edges": None, "pageInfo": None, "totalCount": None}
_EDGE: dict[str, Fact | None] = {"node": None, "cursor": None}
FIELDS: dict[str, dict[str, Fact | None]] = {
    "PageInfo": {
        "hasNextPage": None,
        "endCursor": None,
        "hasPreviousPage": None,
        "startCursor": None,
    },
    "Node": {"id": _S},
    "FamilyConnection": _PAGED,
    "FamilyEdge": _EDGE,
    "ChildConnection": _PAGED,
    "ChildEdge": _EDGE,
    "ParentConnection": _PAGED,
    "ParentEdge": _EDGE,
    "TimelineEntryConnection": _PAGED,
    "TimelineEntryEdge": _EDGE,
    "Family": {
        "id": _S,  # the opaque global id (schema/node.py): the type and its key
        "familyId": _S,
        "caseNumber": _S,
        "status": _S,
        "openedAt": _S,
        "version": _S,
        "lastPosition": _S,
        "updatedAt": _S,
        "members": _S,
        # A flag about an asylum record lists only where that record may be read (ASYLUM).
        "dataQualityFlags": _S,
        "stale": _S,
        "parkedSince": _S,
        "staleReadModels": _S,
        "counselOfRecord": _I,
    },
    "Member": {
        "id": _S,  # the opaque global id (schema/node.py): the type and its key
        "personId": _S,
        "role": _S,
        "name": _I,
        "sex": _S,
        "birthDate": _I,
        "age": _S,
        "country": _S,
        "aNumber": _I,
        "status": _S,
        "facilityId": _S,
        "facilityName": _S,
        "separatedAt": _S,
        "reunifiedAt": _S,
        "reunifiedWith": _S,
        # That a person's data was erased, not what it was: who sees the member sees it.
        "personalDataErased": _S,
    },
    "DataQualityFlag": {"version": _S, "rule": _S, "detail": _S},
    "Representation": {
        "familyId": _I,
        "personId": _I,
        "counsel": _I,
        "basis": _I,
        "reference": _I,
        "consentToDisclosure": _I,
        "since": _I,
        "endedAt": _I,
        "active": _I,
    },
    "TimelineEntry": {
        "id": _I,
        # An entry that is (or amends, or flags) an asylum record lists only where the
        # asylum facts of everyone it names may be read (ASYLUM).
        "position": _I,
        "version": _I,
        "eventType": _I,
        "summary": _I,
        "occurredAt": _I,
        "recordedAt": _I,
        "actor": _I,
        "role": _I,
        "source": _I,
        "reason": _I,
        "correlationId": _I,
        "causationId": _I,
        "amends": _I,
        "amendedBy": _I,
    },
    "Child": {
        "personalDataErased": _S,  # that their data was erased, not what it was
        "id": _S,  # the opaque global id (schema/node.py): the type and its key
        "childId": _S,
        "familyId": _S,
        "name": _I,
        "age": _S,
        "ageBand": _S,
        "sex": _S,
        "country": _S,
        "status": _S,
        "separatedAt": _S,
        "separationReason": _S,
        "separationReasonText": _S,
        "referredAt": _S,
        "referringOffice": _S,
        "placedAt": _S,
        "dischargedAt": _S,
        "dischargeKind": _S,
        "parentSituation": _S,
        "removalCountry": _S,
        "parents": _S,
        "facility": _S,
        "stale": _S,
    },
    "Facility": {"id": _S, "facilityId": _S, "facilityName": _S, "programType": _S},
    "Parent": {
        "personalDataErased": _S,  # that their data was erased, not what it was
        "id": _S,  # the opaque global id (schema/node.py): the type and its key
        "parentId": _S,
        "familyId": _S,
        "name": _I,
        "sex": _S,
        "country": _S,
        "aNumber": _I,
        "custody": _S,
        "facilityName": _S,
        "releasedAt": _S,
        "removalOrder": _S,
        "removalElection": _S,
        "removedAt": _S,
        "removedTo": _S,
        "timesRemoved": _S,
        "returnedAt": _S,
        "returnRoute": _S,
        "locationAttempts": _S,
        "located": _S,
        "preference": _S,
        "eligibility": _S,
        "redFlag": _S,
        "situation": _S,
        "settlementElection": _A,
        "asylumReopened": _A,
        "credibleFear": _A,
        "credibleFearWhileSeparated": _A,
        "reinterviewOutcome": _A,
        "reinterviewStance": _A,
        "stale": _S,
    },
    "CaseStatusChange": {
        "fromStatus": _S,
        "toStatus": _S,
        "version": _S,
        "occurredAt": _S,
        "child": _S,
    },
}

# What each argument of those root fields filters, orders or selects by (dotted paths into
# input objects); None: paging and freshness, no fact.
_PAGING: dict[str, Fact | None] = {
    "first": None,
    "after": None,
    "last": None,
    "before": None,
    "minPosition": None,
}
_CHILD_FILTER = {
    f"filter.{name}": _S
    for name in (
        "status",
        "ageBand",
        "facilityId",
        "parentSituation",
        "removalCountry",
        "separatedFrom",
        "separatedTo",
        "separationReason",
        # A flag about an asylum record matches only where that record may be read (ASYLUM).
        "dataQualityFlag",
        "familyId",
        "inFacilityOn.facilityId",
        "inFacilityOn.on",
    )
}
ARGUMENTS: dict[str, dict[str, Fact | None]] = {
    "family": {"id": _S, "minPosition": None},
    "families": {**_PAGING, "representedBy": _I, "search": _I},
    "timeline": {**_PAGING, "familyId": _I, "filter.memberId": _I, "filter.eventTypes": _I},
    "child": {"id": _S, "minPosition": None},
    "parent": {"id": _S, "minPosition": None},
    "node": {"id": _S},
    "nodes": {"ids": _S},
    "children": {**_PAGING, **_CHILD_FILTER, "orderBy": _S},
    "parents": {
        **_PAGING,
        **{
            f"filter.{name}": _S
            for name in ("situation", "removalCountry", "custody", "located", "familyId")
        },
    },
    "reinterviewEligible": {**_PAGING, "stance": _A, "outcome": _A},
    "removalsWithoutDocumentedChoice": dict(_PAGING),
    "familyEvents": {"familyId": _I, "afterVersion": None},
    "caseStatusChanged": {name: fact for name, fact in _CHILD_FILTER.items()},
}


def partially_reaching_roles() -> frozenset[Role]:
    """Roles whose reach of some fact depends on whom they represent."""
    return frozenset(
        role
        for role, facts in POLICY.items()
        for uses in facts.values()
        for found in uses.values()
        if found in PARTIAL
    )


def _answers_people(root: tuple[Fact, Use]) -> bool:
    """Whether a root answers facts of people, row by row (not counts, audits, commands),
    to some role whose reach is partial."""
    fact, use = root
    return use in (Use.READ, Use.LIST) and any(
        reach(r, fact, use) is not Reach.NONE for r in partially_reaching_roles()
    )


class Unclassified(Exception):
    """A field or argument the policy tables do not classify."""


@dataclass
class Classification:
    """Every field and argument of a schema, by the fact it holds or uses."""

    fields: dict[tuple[str, str], Fact | None] = field(default_factory=dict)
    arguments: dict[tuple[str, str], Fact | None] = field(default_factory=dict)
    # Types answered only by roots gated whole (statistics, audit, operations, commands):
    # they take the fact of those roots.
    inherited: dict[str, set[Fact]] = field(default_factory=dict)


def classified(schema: GraphQLSchema) -> Classification:
    """Classify every field and argument of the schema, or raise Unclassified naming all
    that the tables miss (and those they name that the schema has not)."""
    found = Classification()
    missing: list[str] = []
    explicit = _reachable(schema, [f for f, root in _roots(schema) if _answers_people(root)])
    for root_field, root in _roots(schema):
        if _answers_people(root):
            continue
        for type_name in _reachable(schema, [root_field]) - explicit:
            found.inherited.setdefault(type_name, set()).add(root[0])
    for type_name in sorted(explicit):
        given = FIELDS.get(type_name)
        graphql_type = schema.type_map[type_name]
        assert isinstance(graphql_type, GraphQLObjectType | GraphQLInterfaceType)
        for name in graphql_type.fields:
            if given is None or name not in given:
                missing.append(f"field {type_name}.{name}")
            else:
                found.fields[(type_name, name)] = given[name]
        stale = set(given or ()) - set(graphql_type.fields)
        missing += [f"field {type_name}.{name} (not in the schema)" for name in sorted(stale)]
    for type_name, facts in found.inherited.items():
        graphql_type = schema.type_map[type_name]
        if isinstance(graphql_type, GraphQLObjectType | GraphQLInterfaceType):
            fact = min(facts, key=lambda f: f.value) if len(facts) > 1 else next(iter(facts))
            for name in graphql_type.fields:
                found.fields[(type_name, name)] = fact
    for root_field, root in _roots(schema):
        if not _answers_people(root):
            continue
        given_arguments = ARGUMENTS.get(root_field.name, {})
        paths = set(_argument_paths(root_field.field))
        for path in sorted(paths):
            if path not in given_arguments:
                missing.append(f"argument {root_field.name}({path})")
            else:
                found.arguments[(root_field.name, path)] = given_arguments[path]
        missing += [
            f"argument {root_field.name}({path}) (not in the schema)"
            for path in sorted(set(given_arguments) - paths)
        ]
    for kind, roots in ROOTS.items():
        root_type = getattr(schema, f"{kind.lower()}_type")
        names = set(root_type.fields) if root_type is not None else set()
        missing += [f"{kind}.{n}" for n in sorted(names - set(roots))]
        missing += [f"{kind}.{n} (not in the schema)" for n in sorted(set(roots) - names)]
    if missing:
        raise Unclassified("classify in schema/policy.py: " + "; ".join(missing))
    return found


@dataclass(frozen=True)
class _Root:
    name: str
    field: GraphQLField


def _roots(schema: GraphQLSchema) -> Iterator[tuple[_Root, tuple[Fact, Use]]]:
    for kind, roots in ROOTS.items():
        root_type = getattr(schema, f"{kind.lower()}_type")
        if root_type is None:
            continue
        for name, graphql_field in root_type.fields.items():
            if name in roots:
                yield _Root(name, graphql_field), roots[name]


def _reachable(schema: GraphQLSchema, roots: Iterable[_Root]) -> set[str]:
    """The object types the roots' answers are made of."""
    seen: set[str] = set()
    todo = [get_named_type(r.field.type) for r in roots]
    while todo:
        named = todo.pop()
        if named.name in seen:
            continue
        if isinstance(named, GraphQLUnionType):
            todo += named.types
            continue
        if not isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            continue
        seen.add(named.name)
        todo += [get_named_type(f.type) for f in named.fields.values()]
        if isinstance(named, GraphQLInterfaceType):
            todo += schema.get_implementations(named).objects
    return seen


def _argument_paths(graphql_field: GraphQLField) -> Iterator[str]:
    """Each argument, and each field of an input object inside it, as a dotted path."""
    for name, argument in graphql_field.args.items():
        yield from _input_paths(name, get_named_type(argument.type))


def _input_paths(path: str, named: object) -> Iterator[str]:
    if isinstance(named, GraphQLInputObjectType):
        for name, input_field in named.fields.items():
            yield from _input_paths(f"{path}.{name}", get_named_type(input_field.type))
    else:
        yield path


@dataclass(frozen=True)
class Clients:
    """Whom a counsel represents now: the families, and the people who consented."""

    families: frozenset[UUID] = frozenset()
    consenting: frozenset[UUID] = frozenset()


NO_CLIENTS = Clients()


@dataclass(frozen=True)
class Scope:
    """One caller's reach, resolved against whom it represents: what the policy lets it see
    of each family and person."""

    role: Role | None
    clients: Clients = NO_CLIENTS

    def reach(self, fact: Fact, use: Use) -> Reach:
        return reach(self.role, fact, use)

    def allows(
        self, fact: Fact, use: Use, family_id: UUID | None, person_id: UUID | None = None
    ) -> bool:
        """Whether this caller may use this fact of this family (and person)."""
        found = self.reach(fact, use)
        if found is Reach.CLIENT_FAMILIES:
            return family_id in self.clients.families
        if found is Reach.CONSENTING_CLIENTS:
            return person_id in self.clients.consenting
        return found is not Reach.NONE

    def people(self, fact: Fact, use: Use) -> frozenset[UUID] | None:
        """The only people over whom this use of a person's fact extends; None: everyone."""
        found = self.reach(fact, use)
        if found is Reach.CONSENTING_CLIENTS:
            return self.clients.consenting
        if found is Reach.NONE:
            return frozenset()
        if found is Reach.CLIENT_FAMILIES:
            raise ValueError(f"{fact.value} reaches families, not people")
        return None

    def families(self, fact: Fact, use: Use) -> frozenset[UUID] | None:
        """The only families over which this use of a family's fact extends; None: all."""
        found = self.reach(fact, use)
        if found is Reach.CLIENT_FAMILIES:
            return self.clients.families
        if found is Reach.NONE:
            return frozenset()
        if found is Reach.CONSENTING_CLIENTS:
            raise ValueError(f"{fact.value} reaches people, not families")
        return None


def markdown() -> str:
    """The policy as the README shows it: one row per fact and use, one column per role."""
    roles = list(Role)
    lines = [
        "| fact | use | " + " | ".join(r.value for r in roles) + " |",
        "| --- | --- | " + " | ".join("---" for _ in roles) + " |",
    ]
    for fact in Fact:
        for use in Use:
            found = [reach(r, fact, use) for r in roles]
            if all(f is Reach.NONE for f in found):
                continue
            cells = " | ".join(f.value for f in found)
            lines.append(f"| {fact.value} | {use.value} | {cells} |")
    lines.append("")
    lines += [f"- **{fact.value}**: {FACT_MEANS[fact]}." for fact in Fact]
    by_kind = (Fact.IDENTITY, Fact.ASYLUM)  # what counsel reads of some people only
    held: dict[Fact, list[str]] = {kind: [] for kind in by_kind}
    used: dict[Fact, list[str]] = {kind: [] for kind in by_kind}
    for type_name, facts in FIELDS.items():
        kinds = set(facts.values())
        if len(kinds) == 1 and (kind := next(iter(kinds))) in by_kind:
            held[kind].append(f"`{type_name}` (every field)")
            continue
        held_here = [(name, kind) for name, kind in facts.items() if kind in by_kind]
        for name, kind in held_here:
            held[kind].append(f"`{type_name}.{name}`")
    for root, arguments in ARGUMENTS.items():
        for path, kind in arguments.items():
            if kind in by_kind:
                used[kind].append(f"`{root}({path})`")
    for kind in by_kind:
        lines.append(
            f"- {kind.value.capitalize()} facts are held in {', '.join(held[kind])}, "
            f"and used by the arguments {', '.join(used[kind])}."
        )
    return "\n".join(lines) + "\n"


README_BEGIN = "<!-- access policy: generated by `make schema` from schema/policy.py -->\n"
README_END = "<!-- end of access policy -->\n"


def with_policy(readme: str) -> str:
    """The README with its policy section replaced by `markdown()`."""
    head, begin, rest = readme.partition(README_BEGIN)
    _, end, tail = rest.partition(README_END)
    if not begin or not end:
        raise ValueError("the README has no access policy section to fill")
    return head + README_BEGIN + markdown() + README_END + tail
