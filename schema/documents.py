"""Parsed and validated documents kept by query text, within a budget of text, not a count.

strawberry's ParserCache and ValidationCache are bounded by entries: a thousand documents
near the token limit hold about a gigabyte (a parsed document takes about 100 bytes per
character of its text). Bounding the text kept bounds the memory, whatever callers send.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec
from graphql import DocumentNode, GraphQLError, OperationDefinitionNode, parse
from graphql.validation import ASTValidationRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from schema.errors import OPERATION_RESOLUTION_FAILURE

# Characters of query text kept: some 25 MB of parsed documents at most, and room for a
# few hundred operations of the size clients send (one to two thousand characters).
BUDGET_CHARS = 256 * 1024

Rules = tuple[type[ASTValidationRule], ...]

# What is kept beside a document, by its text and variables (cost estimates, compiled
# plans, coerced arguments), is kept only for texts and variables this short: hundreds of
# entries stay a few MB whatever callers send; longer ones are worked out each time.
KEPT_QUERY_CHARS = 16_384
KEPT_VARIABLES_BYTES = 1024


def variables_key(variables: Mapping[str, Any] | None) -> bytes | None:
    """The variables' JSON, to key what is kept by them; None when they are not JSON (an
    in-process caller's objects) or longer than KEPT_VARIABLES_BYTES."""
    try:
        key = msgspec.json.encode(variables)
    except (TypeError, ValueError):
        return None
    return key if len(key) <= KEPT_VARIABLES_BYTES else None


@dataclass
class Kept:
    """One document and its validation errors under each set of rules (one per role)."""

    document: DocumentNode
    validated: dict[Rules, list[GraphQLError]] = field(default_factory=dict)


class KeptDocuments:
    """A least-recently-used map of query text to its document, within `budget` characters."""

    def __init__(self, budget: int = BUDGET_CHARS) -> None:
        self.budget = budget
        self.held = 0
        self.kept: OrderedDict[str, Kept] = OrderedDict()

    def get(self, query: str) -> Kept | None:
        """What is kept of this text, now the most recently used."""
        kept = self.kept.get(query)
        if kept is not None:
            self.kept.move_to_end(query)
        return kept

    def keep(self, query: str, document: DocumentNode) -> Kept:
        """Keep a parsed document, forgetting the least recently used beyond the budget."""
        kept = Kept(document)
        if len(query) > self.budget:
            return kept  # larger than everything kept together: parsed each time
        if (old := self.kept.pop(query, None)) is not None:
            self.held -= len(query)
            kept = old
        self.kept[query] = kept
        self.held += len(query)
        while self.held > self.budget:
            text, _ = self.kept.popitem(last=False)
            self.held -= len(text)
        return kept


KEPT = KeptDocuments()  # one per process, shared by every request


class DocumentCache(SchemaExtension):
    """Parse and validate each query text once per role, from KEPT.

    Listed after the extensions that add validation rules (the role's limits). A syntax
    error leaves the document unparsed: strawberry then parses it again where the error
    becomes the answer, coded and masked like any other (at most MAX_TOKENS tokens)."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query is not None:
            kept = KEPT.get(context.query)
            if kept is None:
                with contextlib.suppress(GraphQLError):
                    kept = KEPT.keep(context.query, parse(context.query, **context.parse_options))
            if kept is not None:
                context.graphql_document = kept.document
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None:  # strawberry validates only what parsed
            rules = tuple(context.validation_rules)
            kept = KEPT.get(context.query) if context.query is not None else None
            if kept is None or kept.document is not document:  # not from KEPT: alone
                kept = Kept(document)
            if rules not in kept.validated:
                schema = context.schema._schema
                kept.validated[rules] = validate_document(schema, document, rules)
            errors = kept.validated[rules]
            # What the caller named: `operation_name` falls back to the first operation's.
            named = context._provided_operation_name
            context.pre_execution_errors = errors or _chosen(document, named)
        yield


def _chosen(document: DocumentNode, name: str | None) -> list[GraphQLError]:
    """No error when the operation to run is named or alone (strawberry would run the first)."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is not None or len(operations) < 2:
        return []
    message = "the document holds several operations: name the one to run (operationName)"
    return [GraphQLError(message, extensions={"code": OPERATION_RESOLUTION_FAILURE})]
