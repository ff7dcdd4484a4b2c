"""The access policy table (schema/policy.py): it classifies the whole schema, the README
shows it as it is, and a scope reads it as it says."""

from __future__ import annotations

from uuid import uuid4

import pytest
from graphql import GraphQLList, GraphQLNonNull, GraphQLObjectType

from schema import policy
from schema.build import create_schema
from schema.export import README_PATH
from schema.policy import Clients, Fact, Reach, Scope, Unclassified, Use
from service.access.auth import Role

SCHEMA = create_schema(dev=True)._schema


def test_the_policy_classifies_every_field_and_argument() -> None:
    found = policy.classified(SCHEMA)
    assert ("Parent", "credibleFear") in found.fields
    assert found.arguments[("reinterviewEligible", "stance")] is Fact.ASYLUM
    # Reports, audits and operations are gated whole, by their root's fact.
    assert {"CourtReport", "AccessRecord", "ProjectionState"} <= set(found.inherited)


def test_a_field_or_argument_left_out_of_the_tables_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fields = {k: dict(v) for k, v in policy.FIELDS.items()}
    del fields["Parent"]["credibleFear"]
    arguments = {k: dict(v) for k, v in policy.ARGUMENTS.items()}
    del arguments["children"]["filter.status"]
    monkeypatch.setattr(policy, "FIELDS", fields)
    monkeypatch.setattr(policy, "ARGUMENTS", arguments)
    with pytest.raises(Unclassified) as refused:
        policy.classified(SCHEMA)
    assert "field Parent.credibleFear" in str(refused.value)
    assert "argument children(filter.status)" in str(refused.value)


def test_a_root_left_out_of_the_tables_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    queries = dict(policy.QUERIES)
    del queries["reinterviewEligible"]
    monkeypatch.setattr(policy, "ROOTS", {**policy.ROOTS, "Query": queries})
    with pytest.raises(Unclassified, match=r"Query\.reinterviewEligible"):
        policy.classified(SCHEMA)


def test_the_readme_shows_the_table_as_the_code_has_it() -> None:
    readme = README_PATH.read_text()
    assert policy.with_policy(readme) == readme, "run `make schema` to write the README's table"
    assert "| asylum | read | all families | its clients who consented |" in readme


def test_what_some_callers_read_of_some_people_only_can_be_withheld() -> None:
    """A field of a partially reached fact is nullable, a list (withheld empty), or its whole
    type holds that fact (then the object is refused whole: TimelineEntry, Representation)."""
    partial = {
        fact
        for facts in policy.POLICY.values()
        for fact, uses in facts.items()
        if uses.get(Use.READ) in policy.PARTIAL
    }
    found = policy.classified(SCHEMA)
    for (type_name, name), fact in found.fields.items():
        if fact not in partial or type_name in found.inherited:
            continue  # an inherited type is answered whole, by a root gated whole
        graphql_type = SCHEMA.type_map[type_name]
        assert isinstance(graphql_type, GraphQLObjectType)
        whole = set(policy.FIELDS[type_name].values()) == {fact}
        kind = graphql_type.fields[name].type
        nullable = not isinstance(kind, GraphQLNonNull)
        listed = isinstance(kind.of_type if isinstance(kind, GraphQLNonNull) else kind, GraphQLList)
        assert whole or nullable or listed, f"{type_name}.{name} cannot be withheld"


def test_every_role_is_in_the_table_and_only_counsel_reaches_in_part() -> None:
    assert set(policy.POLICY) == set(Role)
    assert policy.partially_reaching_roles() == {Role.COUNSEL}


def test_a_scope_reaches_as_the_table_says() -> None:
    family, client, consenting = uuid4(), uuid4(), uuid4()
    other_family, stranger = uuid4(), uuid4()
    counsel = Scope(Role.COUNSEL, Clients(frozenset({family}), frozenset({consenting})))
    assert counsel.allows(Fact.IDENTITY, Use.READ, family, client)
    assert not counsel.allows(Fact.IDENTITY, Use.READ, other_family, stranger)
    assert counsel.allows(Fact.STATUS, Use.LIST, other_family, stranger)
    assert counsel.allows(Fact.ASYLUM, Use.READ, family, consenting)
    assert not counsel.allows(Fact.ASYLUM, Use.READ, family, client)
    assert not counsel.allows(Fact.AUDIT, Use.READ, family)
    assert counsel.people(Fact.ASYLUM, Use.LIST) == frozenset({consenting})
    assert counsel.families(Fact.IDENTITY, Use.LIST) == frozenset({family})
    assert counsel.families(Fact.STATUS, Use.LIST) is None  # all of them
    with pytest.raises(ValueError):
        counsel.people(Fact.IDENTITY, Use.LIST)
    with pytest.raises(ValueError):
        counsel.families(Fact.ASYLUM, Use.LIST)
    class_counsel = Scope(Role.COUNSEL)
    assert class_counsel.people(Fact.ASYLUM, Use.LIST) == frozenset()
    assert not class_counsel.allows(Fact.IDENTITY, Use.READ, family)
    caseworker = Scope(Role.CASEWORKER)
    assert caseworker.people(Fact.ASYLUM, Use.LIST) is None
    assert caseworker.allows(Fact.ASYLUM, Use.READ, family, stranger)
    analyst = Scope(Role.ANALYST)
    assert analyst.reach(Fact.STATUS, Use.STATISTICS) is Reach.CONTROLLED
    assert not analyst.allows(Fact.STATUS, Use.READ, family)
    assert analyst.people(Fact.ASYLUM, Use.LIST) == frozenset()
    assert analyst.families(Fact.IDENTITY, Use.LIST) == frozenset()
    assert not Scope(None).allows(Fact.STATUS, Use.READ, family)
