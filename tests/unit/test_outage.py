"""Outages are told apart from bugs, answered retryable, and logged in one line."""

from __future__ import annotations

import logging

import asyncpg
import pytest
from graphql import GraphQLError

from schema.build import create_schema
from schema.errors import PublicError
from schema.outage import DATABASE_UNAVAILABLE, outage_error
from service.postgres.database import unavailable


def located(original: Exception) -> GraphQLError:
    return GraphQLError("boom", path=["family"], original_error=original)


def test_a_lost_refused_or_timed_out_database_is_an_outage_and_a_bug_is_not() -> None:
    assert unavailable(ConnectionRefusedError(111, "Connection refused"))
    assert unavailable(TimeoutError())
    assert unavailable(asyncpg.ConnectionDoesNotExistError("connection was closed"))
    assert unavailable(asyncpg.CannotConnectNowError("the database system is starting up"))
    assert unavailable(asyncpg.InterfaceError("cannot perform operation: connection is closed"))
    assert not unavailable(ValueError("a bug"))
    assert not unavailable(asyncpg.InterfaceError("the server expects 2 arguments, 1 was passed"))
    try:
        raise RuntimeError("wrapped") from OSError("network is unreachable")
    except RuntimeError as e:
        assert unavailable(e)


def test_an_outage_answers_retryable_and_a_mutation_says_to_keep_the_key() -> None:
    read = outage_error(located(OSError()), mutation=False)
    wrote = outage_error(located(OSError()), mutation=True)
    assert read is not None and wrote is not None
    assert read.extensions == {"code": DATABASE_UNAVAILABLE, "retryable": True}
    assert read.path == ["family"]
    assert "same idempotency key" in wrote.message
    assert outage_error(located(ValueError("a bug")), mutation=False) is None


def test_refusals_and_outages_are_one_line_and_bugs_keep_their_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    schema = create_schema()
    refusal = GraphQLError("first must be between 1 and 100", original_error=None)
    refusal.extensions = {"code": "BAD_PAGE_SIZE"}
    schema.process_errors(
        [
            refusal,
            located(PublicError("bad cursor", "BAD_CURSOR")),
            located(ConnectionRefusedError(111, "Connection refused")),
        ]
    )
    assert [r.levelno for r in caplog.records] == [logging.INFO, logging.INFO, logging.WARNING]
    assert all(r.exc_info is None and "\n" not in r.getMessage() for r in caplog.records)
    caplog.clear()
    try:
        raise ValueError("a bug")
    except ValueError as e:
        schema.process_errors([located(e)])
    assert caplog.records[0].levelno == logging.ERROR and caplog.records[0].exc_info
