"""Selections over read-model objects compiled to SQL that builds each object's JSON.

A compiled plan (schema/read_plans.py) answers an object with one `json_build_object` per
row, holding exactly the fields selected, each as the executed path would serialise it:
enums by name, global ids as schema/node.py encodes them, date-times as Python's
`isoformat`, and every field a role may not read of this family or person null, as
schema/scoping.py withholds it. Anything else raises NotCovered, so the operation is
executed instead: a field with a resolver of its own (`stale`, `members`, ...), a float,
an argument on a field, a directive, a fragment on a type this compiler does not know.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    InlineFragmentNode,
    SelectionSetNode,
    get_named_type,
)

from schema.policy import FIELDS, PARTIAL, POLICY, Reach, Use, reach
from service.access.auth import Role

Fragments = Mapping[str, FragmentDefinitionNode]
Collected = dict[str, list[FieldNode]]

# json_build_object takes at most 100 arguments (PostgreSQL's FUNC_MAX_ARGS): 50 keys.
MAX_KEYS = 50
# Scalars whose JSON from PostgreSQL is what the executed path answers; Float is not (its
# digits differ), DateTime is formatted (DATETIME).
PLAIN_SCALARS = frozenset({"String", "Int", "Boolean", "UUID", "Date", "ID"})
# Python's isoformat of a UTC datetime, as asyncpg returns timestamptz values: one to_char
# (a third of the old three's CPU), whole seconds without their ".000000" as Python omits it.
DATETIME = (
    "replace(to_char({0} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"'),"
    " '.000000+', '+')"
)
# schema/node.py's global_id: url-safe base64 of "Type:key", without PostgreSQL's newlines.
GLOBAL_ID = "translate(encode(convert_to('{0}:' || {1}, 'UTF8'), 'base64'), E'+/\\n', '-_')"
# Facts some role reads of some people only: the facts schema/scoping.py masks per object.
MASKABLE = frozenset(
    fact
    for facts in POLICY.values()
    for fact, uses in facts.items()
    if uses.get(Use.READ) in PARTIAL
)


class NotCovered(Exception):
    """The operation is not one a plan answers: it is executed field by field."""


@dataclass(frozen=True)
class Table:
    """How one read-model type is held: its key columns (the global id's, in order), and
    the column naming the person its asylum facts are of."""

    key: tuple[str, ...]
    person: str | None


TABLES = {
    "Child": Table(key=("child_id",), person="child_id"),
    "Parent": Table(key=("parent_id",), person="parent_id"),
    "Facility": Table(key=("facility_id",), person=None),
    "Family": Table(key=("family_id",), person=None),
    "TimelineEntry": Table(key=("family_id", "version"), person=None),
    "Member": Table(key=("family_id", "person_id"), person="person_id"),
}


def collect(
    schema: GraphQLSchema,
    fragments: Fragments,
    object_type: GraphQLObjectType,
    selection_sets: Iterable[SelectionSetNode],
) -> Collected:
    """The fields selected on an object of this type, by response key, in the order
    GraphQL answers them (fragments whose type applies inlined); NotCovered on a
    directive (@skip and @include depend on variables a plan is not compiled for)."""
    found: Collected = {}
    seen: set[str] = set()

    def walk(selections: SelectionSetNode) -> None:
        for selection in selections.selections:
            if selection.directives:
                raise NotCovered("a directive")
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                found.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if condition is None or applies(schema, condition.name.value, object_type):
                    walk(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = fragments.get(name)
                if fragment is None or fragment.directives:
                    raise NotCovered("a fragment")
                if name not in seen and applies(
                    schema, fragment.type_condition.name.value, object_type
                ):
                    seen.add(name)
                    walk(fragment.selection_set)
            else:
                raise NotCovered("a selection of an unknown kind")

    for selection_set in selection_sets:
        walk(selection_set)
    return found


def applies(schema: GraphQLSchema, condition: str, object_type: GraphQLObjectType) -> bool:
    """Whether a fragment's type condition holds for an object of this type."""
    named = schema.get_type(condition)
    if named is None:
        raise NotCovered("a fragment on an unknown type")
    return named is object_type or named in object_type.interfaces


def subselections(nodes: list[FieldNode]) -> list[SelectionSetNode]:
    """The selection sets of one response key's fields, merged as GraphQL merges them."""
    return [n.selection_set for n in nodes if n.selection_set is not None]


@dataclass(frozen=True)
class Built:
    """SQL for a value, and SQL true when the executed path would not answer it as built:
    a non-null field the row holds null (or an enum value GraphQL does not know), which
    execution answers with an error. A plan whose row says so falls back (None: never)."""

    sql: str
    broken: str | None = None
    flagged: bool = False  # its JSON may hold BROKEN_TEXT: an element of a list is broken


# A nested list's element, in place of its JSON, where execution would not answer that
# element as built: found in the row's text (schema/plan_roots.py), so the list's rows are
# read once, not again by an EXISTS. No alias can be this key (GraphQL names are
# [_A-Za-z][_0-9A-Za-z]*), and a string's quotes are escaped: no answer holds this text.
BROKEN_TEXT = '{"!broken": true}'
# Braces doubled: a plan's columns are formatted with the caller's clients.
BROKEN_JSON = "'" + BROKEN_TEXT.replace("{", "{{").replace("}", "}}") + "'::json"


def element(built: Built) -> str:
    """A list element's JSON, or BROKEN_JSON where the element is broken."""
    if built.broken is None:
        return built.sql
    return f"(CASE WHEN {built.broken} THEN {BROKEN_JSON} ELSE {built.sql} END)"


def any_of(conditions: Iterable[str | None]) -> str | None:
    found = [c for c in conditions if c is not None]
    return " OR ".join(f"({c})" for c in found) if found else None


@dataclass(frozen=True)
class ObjectSql:
    """Compiles selections into JSON-building SQL for one role."""

    schema: GraphQLSchema
    fragments: Fragments
    role: Role

    def object_json(self, type_name: str, selections: list[SelectionSetNode], alias: str) -> Built:
        """SQL for the JSON of one row of `alias` answered as an object of this type; its
        text holds {families} and {people} where a role's reach depends on its clients."""
        object_type = self.schema.type_map[type_name]
        assert isinstance(object_type, GraphQLObjectType)
        fields = collect(self.schema, self.fragments, object_type, selections)
        if len(fields) > MAX_KEYS:
            raise NotCovered("too many keys for one JSON object")
        built = {key: self.field(object_type, nodes, alias) for key, nodes in fields.items()}
        pairs = [f"'{key}', {value.sql}" for key, value in built.items()]
        return Built(
            f"json_build_object({', '.join(pairs)})",
            any_of(v.broken for v in built.values()),
            any(v.flagged for v in built.values()),
        )

    def field(self, object_type: GraphQLObjectType, nodes: list[FieldNode], alias: str) -> Built:
        """SQL for one field's value, withheld where the role may not read it."""
        type_name = object_type.name
        name = nodes[0].name.value
        if name == "__typename":
            return Built(f"'{type_name}'")
        if any(n.arguments for n in nodes):
            raise NotCovered("an argument on an object's field")
        definition = object_type.fields.get(name)
        table = TABLES.get(type_name)
        if definition is None or table is None:
            raise NotCovered(f"{type_name}.{name}")
        if (type_name, name) in NESTED:  # never null where its type is not null
            return NESTED[(type_name, name)](self, subselections(nodes), alias)
        if name == "id":
            key = " || ':' || ".join(f"{alias}.{k}::text" for k in table.key)
            value, null = GLOBAL_ID.format(type_name, key), key
        else:
            value, null = self.column(definition.type, f"{alias}.{column_of(definition)}")
        value = self.withheld(type_name, name, value, alias, table)
        if not isinstance(definition.type, GraphQLNonNull):
            return Built(value)
        # Null exactly when the value is, without formatting it a second time per row.
        return Built(value, f"{self.withheld(type_name, name, null, alias, table)} IS NULL")

    def column(self, field_type: GraphQLOutputType, expression: str) -> tuple[str, str]:
        """A plain column's value as the executed path serialises its GraphQL type, and an
        expression null exactly when that value is (an unknown enum value included)."""
        if isinstance(field_type, GraphQLNonNull):
            field_type = field_type.of_type
        if isinstance(field_type, GraphQLList):
            # An array of integers is the JSON array the executed path answers.
            inner = field_type.of_type
            if get_named_type(inner).name != "Int" or not isinstance(inner, GraphQLNonNull):
                raise NotCovered("a list column of other than integers")
            return expression, expression
        named = get_named_type(field_type)
        if isinstance(named, GraphQLEnumType):
            cases = " ".join(
                f"WHEN '{quoted(str(v.value))}' THEN '{quoted(n)}'" for n, v in named.values.items()
            )
            return f"(CASE {expression} {cases} END)", f"(CASE {expression} {cases} END)"
        if isinstance(named, GraphQLScalarType) and named.name == "DateTime":
            return DATETIME.format(expression), expression
        if isinstance(named, GraphQLScalarType) and named.name in PLAIN_SCALARS:
            return expression, expression
        raise NotCovered(f"a value of type {named}")

    def withheld(self, type_name: str, name: str, value: str, alias: str, table: Table) -> str:
        """The value, or null where schema/scoping.py's `shown` would withhold it."""
        fact = FIELDS.get(type_name, {}).get(name)
        if fact not in MASKABLE:
            return value
        assert fact is not None
        found = reach(self.role, fact, Use.READ)
        if found is Reach.ALL:
            return value
        if found is Reach.CLIENT_FAMILIES:
            return f"(CASE WHEN {alias}.family_id = ANY({{families}}) THEN {value} END)"
        if found is Reach.CONSENTING_CLIENTS and table.person is not None:
            return f"(CASE WHEN {alias}.{table.person} = ANY({{people}}) THEN {value} END)"
        if found is Reach.NONE:
            return "NULL"
        raise NotCovered(f"{fact.value} reaching {found.value} on {type_name}")


def quoted(text: str) -> str:
    """A string literal's content."""
    return text.replace("'", "''")


def column_of(definition: object) -> str:
    """The read-model column of a plain field: the strawberry field's own name, when the
    field has no resolver (one with a resolver computes its value: NotCovered)."""
    strawberry_field = getattr(definition, "extensions", {}).get("strawberry-definition")
    if strawberry_field is None or strawberry_field.base_resolver is not None:
        raise NotCovered("a field with a resolver")
    name = strawberry_field.python_name
    if not name.isidentifier():
        raise NotCovered("a column with an unusual name")
    return str(name)


def _child_parents(compiler: ObjectSql, selections: list[SelectionSetNode], alias: str) -> Built:
    """Child.parents: the family's adults the child's row links, in parent id order (the
    order schema/loaders.py's parents of a family come in)."""
    inner = f"{alias}_p"
    parent = compiler.object_json("Parent", selections, inner)
    rows = (
        f" FROM parent_case {inner} WHERE {inner}.family_id = {alias}.family_id"
        f" AND {inner}.parent_id = ANY({alias}.parent_ids)"
    )
    listed = f"json_agg({element(parent)} ORDER BY {inner}.parent_id)"
    flagged = parent.flagged or parent.broken is not None
    return Built(f"coalesce((SELECT {listed}{rows}), '[]'::json)", None, flagged)


def _child_facility(compiler: ObjectSql, selections: list[SelectionSetNode], alias: str) -> Built:
    """Child.facility: from the child's own row, which holds its current stay; none when
    the row names no facility (an empty id included, as read_types.children_from_rows)."""
    facility = compiler.object_json("Facility", selections, alias)
    held = f"{alias}.facility_id <> ''"
    return Built(
        f"(CASE WHEN {held} THEN {facility.sql} END)",
        f"{held} AND ({facility.broken})" if facility.broken else None,
        facility.flagged,
    )


def _family_members(compiler: ObjectSql, selections: list[SelectionSetNode], alias: str) -> Built:
    """Family.members: the case's members in the order recorded (schema/loaders.py's)."""
    inner = f"{alias}_m"
    member = compiler.object_json("Member", selections, inner)
    rows = f" FROM family_members {inner} WHERE {inner}.family_id = {alias}.family_id"
    listed = f"json_agg({element(member)} ORDER BY {inner}.ordinal)"
    flagged = member.flagged or member.broken is not None
    return Built(f"coalesce((SELECT {listed}{rows}), '[]'::json)", None, flagged)


def _stale(compiler: ObjectSql, selections: list[SelectionSetNode], alias: str) -> Built:
    """`stale`: whether a read model parked one of the family's events (read_types's
    family_is_stale, from projections/parking.py's table)."""
    return Built(f"EXISTS (SELECT 1 FROM parked_events WHERE stream_id = {alias}.family_id)")


def _parked_since(compiler: ObjectSql, selections: list[SelectionSetNode], alias: str) -> Built:
    """Family.parkedSince: when the first of the family's events was parked."""
    first = f"(SELECT min(parked_at) FROM parked_events WHERE stream_id = {alias}.family_id)"
    return Built(DATETIME.format(first))


def _stale_models(compiler: ObjectSql, selections: list[SelectionSetNode], alias: str) -> Built:
    """Family.staleReadModels: the read models that parked its events, sorted as Python
    sorts them (by code point: COLLATE "C")."""
    return Built(
        'coalesce((SELECT json_agg(m ORDER BY m COLLATE "C") FROM (SELECT DISTINCT projection'
        f" AS m FROM parked_events WHERE stream_id = {alias}.family_id) AS models), '[]'::json)"
    )


NESTED = {
    ("Child", "stale"): _stale,
    ("Parent", "stale"): _stale,
    ("Family", "stale"): _stale,
    ("Family", "parkedSince"): _parked_since,
    ("Family", "staleReadModels"): _stale_models,
    ("Child", "parents"): _child_parents,
    ("Child", "facility"): _child_facility,
    ("Family", "members"): _family_members,
}
