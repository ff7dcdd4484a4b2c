"""GraphQL over HTTP without a server: media types, status codes, error codes, origins,
trusted documents, and their settings."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from graphql import GraphQLError, parse
from graphql.language import StringValueNode, VariableDefinitionNode
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from strawberry.http import GraphQLHTTPResponse

from schema.errors import (
    BAD_USER_INPUT,
    INTERNAL,
    PARSE_FAILED,
    VALIDATION_FAILED,
    CodedErrors,
    code_of,
)
from schema.persisted import PersistedDocuments, PersistedRefused, document_id
from service.entrypoints.cors import CrossOrigin, Origins
from service.entrypoints.graphql_http import (
    GRAPHQL_RESPONSE,
    JSON,
    coded,
    negotiate,
    response_body,
    status_of,
)
from service.settings import Settings

# -- media types and status codes


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),
        ("application/*", JSON),
        (JSON, JSON),
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE},{JSON};q=0.9", GRAPHQL_RESPONSE),
        (f"{JSON},{GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),  # equal: the spec's own type
        (f"{JSON};q=1,{GRAPHQL_RESPONSE};q=0.8", JSON),
        (f"{GRAPHQL_RESPONSE};q=0, {JSON}", JSON),
        (f"{GRAPHQL_RESPONSE};q=oops", JSON),
        ("text/html", JSON),
        (f"TEXT/HTML, {GRAPHQL_RESPONSE.upper()}", GRAPHQL_RESPONSE),
    ],
)
def test_the_media_type_answered(accept: str | None, media: str) -> None:
    assert negotiate(accept) == media


def errors(*codes: str) -> GraphQLHTTPResponse:
    """A response that ran nothing, with one error per code."""
    return {"errors": [{"message": "m", "extensions": {"code": code}} for code in codes]}


def test_statuses_follow_the_media_type_and_whether_the_document_ran() -> None:
    ran: GraphQLHTTPResponse = {"data": None, **errors("FORBIDDEN")}
    assert status_of(ran, GRAPHQL_RESPONSE) == status_of(ran, JSON) == 200
    assert status_of(errors(VALIDATION_FAILED), JSON) == 200
    assert status_of(errors(VALIDATION_FAILED), GRAPHQL_RESPONSE) == 400
    assert status_of(errors("RATE_LIMITED"), GRAPHQL_RESPONSE) == 429
    assert status_of(errors(INTERNAL, VALIDATION_FAILED), GRAPHQL_RESPONSE) == 500
    assert status_of({"errors": [{"message": "no code"}]}, GRAPHQL_RESPONSE) == 500


def test_the_data_entry_is_left_out_only_when_nothing_ran() -> None:
    request_error = GraphQLError("bad", extensions={"code": VALIDATION_FAILED})
    assert response_body(None, [request_error], None) == {"errors": [request_error.formatted]}
    field_error = GraphQLError("no", path=["family"], extensions={"code": "FORBIDDEN"})
    assert "data" in response_body(None, [field_error], None)
    assert response_body({"a": 1}, None, {"cost": 3}) == {
        "data": {"a": 1},
        "extensions": {"cost": 3},
    }


def test_an_error_that_escaped_the_schema_is_masked_and_coded() -> None:
    leaked = GraphQLError("password=hunter2", original_error=RuntimeError("password=hunter2"))
    assert (coded(leaked).message, coded(leaked).extensions) == (
        "Unexpected error.",
        {"code": INTERNAL},
    )
    uncoded = GraphQLError("Cannot query field 'x' on type 'Query'.")
    assert coded(uncoded).extensions == {"code": VALIDATION_FAILED}
    own = GraphQLError("m", extensions={"code": "OWN"})
    assert coded(own) is own


# -- error codes given by the schema


def variable_node() -> VariableDefinitionNode:
    operation = parse("query($id: UUID!) { __typename }").definitions[0]
    return operation.variable_definitions[0]  # type: ignore[attr-defined,no-any-return]


def test_each_uncoded_error_gets_the_code_of_where_it_was_raised() -> None:
    assert code_of(GraphQLError("x", extensions={"code": "OWN"}), parsed=True) == "OWN"
    assert code_of(GraphQLError("x", path=["family"]), parsed=True) == INTERNAL
    assert code_of(GraphQLError("x"), parsed=False) == PARSE_FAILED
    assert code_of(GraphQLError("x", variable_node()), parsed=True) == BAD_USER_INPUT
    assert code_of(GraphQLError("x"), parsed=True) == VALIDATION_FAILED


def test_a_masked_error_keeps_a_code_and_only_what_the_caller_wrote() -> None:
    mask = CodedErrors()
    reason = ValueError("the scalar's own reason")
    variable = GraphQLError(
        "Variable '$id' got invalid value 'x'; the scalar's own reason",
        variable_node(),
        original_error=reason,
    )
    masked = mask.anonymise_error(variable)
    assert masked.message == "Variable '$id' got invalid value 'x'."
    assert masked.extensions == {"code": BAD_USER_INPUT}
    literal = GraphQLError(
        "Expected value of type 'UUID', found \"x\"; the scalar's own reason",
        StringValueNode(value="x"),
        original_error=reason,
    )
    assert mask.anonymise_error(literal).extensions == {"code": VALIDATION_FAILED}
    assert "own reason" not in mask.anonymise_error(literal).message
    field = GraphQLError("boom", path=["family"], original_error=reason)
    assert mask.anonymise_error(field).message == "Unexpected error."
    assert mask.anonymise_error(field).extensions == {"code": INTERNAL}


# -- origins


def test_nothing_is_allowed_by_default_and_development_allows_localhost() -> None:
    production = Origins.of(Settings())
    development = Origins.of(Settings(dev=True))
    for origin in ("http://localhost:3000", "https://app.example.org", "null"):
        assert not production.allows(origin)
    for origin in ("http://localhost:3000", "http://127.0.0.1:5173", "http://[::1]:8080"):
        assert development.allows(origin)
    for origin in ("http://localhost.evil.net", "https://app.example.org", "null"):
        assert not development.allows(origin)


def test_listed_origins_are_compared_as_browsers_send_them() -> None:
    origins = Origins.of(Settings(cors_origins=("https://App.Example.org:443",)))
    assert origins.allows("https://app.example.org")
    assert not origins.allows("http://app.example.org")
    assert Origins.of(Settings(cors_origins=("*",))).allows("https://anywhere.example")


@pytest.mark.parametrize(
    ("origins", "credentials", "complaint"),
    [
        (("https://app.example.org/path",), False, "REUNITE_CORS_ORIGINS"),
        (("app.example.org",), False, "REUNITE_CORS_ORIGINS"),
        (("*",), True, "list the origins"),
    ],
)
def test_an_origin_list_that_cannot_be_meant_stops_the_server_starting(
    origins: tuple[str, ...], credentials: bool, complaint: str
) -> None:
    with pytest.raises(ValueError, match=complaint):
        Origins.of(Settings(cors_origins=origins, cors_credentials=credentials))


async def test_a_development_preflight_from_a_localhost_app_is_allowed() -> None:
    app = Starlette(
        routes=[Route("/graphql", lambda _: PlainTextResponse("ok"), methods=["POST"])],
        middleware=[
            Middleware(
                CrossOrigin,
                origins=Origins.of(Settings(dev=True)),
                credentials=True,
                headers=("x-request-id",),
            )
        ],
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://reunite"
    ) as http:
        preflight = await http.options(
            "/graphql",
            headers={
                "Origin": "http://localhost:5173",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,x-request-id",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "http://localhost:5173"
        assert preflight.headers["access-control-allow-credentials"] == "true"
        answer = await http.post("/graphql", headers={"Origin": "http://localhost:5173"})
        assert answer.headers["access-control-allow-origin"] == "http://localhost:5173"


# -- trusted documents


def test_both_manifest_formats_load(tmp_path: Path) -> None:
    query = "query Q { __typename }"
    codegen = tmp_path / "persisted-documents.json"
    codegen.write_text(json.dumps({document_id(query): query}))
    apollo = tmp_path / "persisted-query-manifest.json"
    apollo.write_text(
        json.dumps(
            {
                "format": "apollo-persisted-query-manifest",
                "version": 1,
                "operations": [{"id": "custom-id", "name": "Q", "type": "query", "body": query}],
            }
        )
    )
    assert PersistedDocuments.load(codegen).resolve(document_id(query), None) == query
    loaded = PersistedDocuments.load(apollo, only=True)
    assert loaded.resolve("custom-id", None) == query
    assert loaded.resolve(None, query) == query  # its text, registered


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        "[]",
        '{"a": 1}',
        '{"": "query { a }"}',
        '{"format": "apollo-persisted-query-manifest", "operations": {}}',
        '{"format": "apollo-persisted-query-manifest", "operations": [1]}',
    ],
)
def test_a_manifest_that_cannot_be_read_stops_the_server_starting(
    tmp_path: Path, content: str
) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(content)
    with pytest.raises(ValueError, match="REUNITE_PERSISTED_DOCUMENTS"):
        PersistedDocuments.load(manifest)
    with pytest.raises(ValueError, match="REUNITE_PERSISTED_DOCUMENTS"):
        PersistedDocuments.load(tmp_path / "missing.json")


def test_without_persisted_only_any_document_runs_and_ids_still_resolve() -> None:
    query = "query Q { __typename }"
    documents = PersistedDocuments({document_id(query): query})
    assert documents.resolve(None, "{ other }") == "{ other }"
    assert documents.resolve(f"sha256:{document_id(query)}", None) == query
    with pytest.raises(PersistedRefused) as refused:
        documents.resolve("0" * 64, None)
    assert (refused.value.extensions or {})["code"] == "PERSISTED_QUERY_NOT_FOUND"


# -- settings


def test_the_browser_and_persisted_settings_are_read_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "REUNITE_CORS_ORIGINS": "https://a.example.org, https://b.example.org",
            "REUNITE_CORS_CREDENTIALS": "true",
            "REUNITE_CORS_HEADERS": "x-request-id",
            "REUNITE_PERSISTED_DOCUMENTS": "/srv/persisted-documents.json",
            "REUNITE_PERSISTED_ONLY": "1",
        }
    )
    assert settings.cors_origins == ("https://a.example.org", "https://b.example.org")
    assert settings.cors_credentials and settings.persisted_only
    assert settings.cors_headers == ("x-request-id",)
    assert settings.persisted_documents == Path("/srv/persisted-documents.json")
    defaults = Settings.from_env({})
    assert defaults.cors_origins == () and not defaults.cors_credentials
    assert defaults.persisted_documents is None and not defaults.persisted_only
