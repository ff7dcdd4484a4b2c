"""Trusted documents: the operations clients were built with, registered by id.

A client build extracts its operations into a manifest (GraphQL Codegen's client preset
writes `persisted-documents.json`, {"<sha256>": "<document>"}; Apollo's
`generate-persisted-query-manifest` writes {"format": "apollo-persisted-query-manifest",
"operations": [{"id", "body", ...}]}); the server reads it at start
(REUNITE_PERSISTED_DOCUMENTS). A request then names its document by id, in
`extensions.persistedQuery.sha256Hash` (Apollo's persisted-query link, Codegen) or
`documentId`. With REUNITE_PERSISTED_ONLY only registered documents run, over HTTP and
websockets alike: the text of a registered document is also accepted (a client that
sends it after PERSISTED_QUERY_NOT_FOUND, or over a websocket, which carries no id)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path

from strawberry.extensions import SchemaExtension

from schema.errors import PublicError

PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"  # no document under that id
PERSISTED_QUERY_NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"  # no manifest configured
PERSISTED_QUERY_REQUIRED = "PERSISTED_QUERY_REQUIRED"  # only registered documents run
PERSISTED_QUERY_MISMATCH = "PERSISTED_QUERY_MISMATCH"  # the id names another document
APOLLO_FORMAT = "apollo-persisted-query-manifest"


def document_id(document: str) -> str:
    """The id a document is registered under: the hex sha256 of its text."""
    return hashlib.sha256(document.encode("utf-8", "surrogatepass")).hexdigest()


class PersistedRefused(PublicError):
    """A request refused by the trusted documents: nothing was parsed or run."""


class PersistedDocuments:
    """The registered documents by id, and whether only they are served."""

    def __init__(self, documents: Mapping[str, str], only: bool = False) -> None:
        self.documents = dict(documents)
        self.only = only
        # The texts' own hashes, so a registered document sent as text is recognised.
        self.texts = frozenset(map(document_id, self.documents.values()))

    @classmethod
    def load(cls, path: Path, only: bool = False) -> PersistedDocuments:
        """Read a manifest in either format; an unreadable one stops the server starting."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            documents = _documents(data)
        except (OSError, ValueError) as e:
            raise ValueError(f"REUNITE_PERSISTED_DOCUMENTS {path}: {e}") from None
        return cls(documents, only)

    def registered(self, document: str) -> bool:
        return document_id(document) in self.texts

    def resolve(self, persisted_id: str | None, query: str | None) -> str | None:
        """The document to run for a request's id and query text, or refused."""
        if persisted_id is not None:
            registered = self.documents.get(persisted_id.removeprefix("sha256:"))
            if query is None:
                if registered is None:
                    raise PersistedRefused(
                        "PersistedQueryNotFound: no document is registered under that id",
                        PERSISTED_QUERY_NOT_FOUND,
                    )
                return registered
            if registered is not None and registered != query:
                raise PersistedRefused(
                    "the query is not the document registered under that id",
                    PERSISTED_QUERY_MISMATCH,
                )
        if self.only and query is not None and not self.registered(query):
            raise required()
        return query


def required() -> PersistedRefused:
    return PersistedRefused(
        "only registered operations are served here: send the id of a document in the"
        " client's persisted-documents manifest",
        PERSISTED_QUERY_REQUIRED,
    )


def _documents(data: object) -> dict[str, str]:
    if isinstance(data, dict) and data.get("format") == APOLLO_FORMAT:
        operations = data.get("operations")
        if not isinstance(operations, list):
            raise ValueError("an Apollo manifest holds a list of operations")
        pairs = [(op.get("id"), op.get("body")) for op in operations if isinstance(op, dict)]
        if len(pairs) != len(operations):
            raise ValueError("each operation is an object with an id and a body")
    elif isinstance(data, dict):
        pairs = list(data.items())
    else:
        raise ValueError("expected {id: document} or an Apollo persisted-query manifest")
    documents: dict[str, str] = {}
    for key, body in pairs:
        if not isinstance(key, str) or not isinstance(body, str) or not key or not body:
            raise ValueError("each id and document is a non-empty string")
        documents[key] = body
    return documents


class PersistedOnly(SchemaExtension):
    """Refuses any document not in the manifest, whatever carried it (the HTTP view refuses
    earlier, before parsing; this also covers websockets and in-process calls)."""

    def __init__(self, documents: PersistedDocuments) -> None:
        self.documents = documents

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.query is None or not self.documents.registered(context.query):
            # Listed after ValidationCache: these errors stand instead of validating.
            context.pre_execution_errors = [required()]
        yield
