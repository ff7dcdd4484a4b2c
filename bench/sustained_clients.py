"""The sustained load's clients: writers, read-your-write readers, subscribers, and what
they saw (bench.sustained runs them)."""

from __future__ import annotations

import asyncio
import collections
import json
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
import websockets

ADD = """mutation($input: AddMemberInput!) { addMember(input: $input) {
  __typename ... on CommandSuccess { version position } ... on Error { message } } }"""
READ = "query($id: UUID!, $at: Int!) { family(id: $id, minPosition: $at) { version } }"
FOLLOW = """subscription($id: UUID!, $after: Int!) {
  familyEvents(familyId: $id, afterVersion: $after) { version recordedAt } }"""


@dataclass
class Tally:
    """What the clients saw, and what the sampler read, during the load."""

    commands: int = 0
    conflicts: int = 0
    own_reads: list[float] = field(default_factory=list)
    deliveries: list[float] = field(default_factory=list)
    lags: list[tuple[float, dict[str, int]]] = field(default_factory=list)
    rss: list[tuple[float, int]] = field(default_factory=list)
    # How full the caches that grow with the log are (the lowest of held / bound).
    fill: list[tuple[float, float]] = field(default_factory=list)


def member(family: UUID) -> dict[str, Any]:
    return {
        "familyId": str(family),
        "role": "OTHER_ADULT",
        "sex": "FEMALE",
        "occurredAt": "2018-06-01T12:00:00Z",
        "personId": str(uuid4()),
        "name": "Tía Carmen",
    }


async def add(client: httpx.AsyncClient, family: UUID) -> dict[str, Any]:
    answer = await client.post(
        "/graphql", json={"query": ADD, "variables": {"input": member(family)}}
    )
    result: dict[str, Any] = answer.json()["data"]["addMember"]
    return result


class Rotation:
    """The families the load writes to. With `retire`, a family that has taken that many
    of the load's commands makes way for a prepared one, so the families written to stay
    about the same size (the followed ones never retire: their subscribers wait on them)."""

    def __init__(
        self,
        active: Sequence[UUID],
        reserve: Sequence[UUID] = (),
        retire: int = 0,
        followed: Sequence[UUID] = (),
    ) -> None:
        self.active = list(active)
        self.reserve = collections.deque(reserve)
        self.retire = retire
        self.followed = frozenset(followed)
        self.taken: collections.Counter[UUID] = collections.Counter()

    def pick(self, rng: random.Random) -> UUID:
        return rng.choice(self.active)

    def took(self, family: UUID) -> None:
        """One more command recorded on `family`."""
        if not self.retire or family in self.followed:
            return
        self.taken[family] += 1
        if self.taken[family] == self.retire and self.reserve:
            self.active[self.active.index(family)] = self.reserve.popleft()


async def writer(client: httpx.AsyncClient, families: Rotation, until: float, t: Tally) -> None:
    rng = random.Random()
    while time.monotonic() < until:
        family = families.pick(rng)
        result = await add(client, family)
        if result["__typename"] == "CommandSuccess":
            t.commands += 1
            families.took(family)
        else:
            t.conflicts += 1


async def own_reader(client: httpx.AsyncClient, families: Rotation, until: float, t: Tally) -> None:
    """Write, then read the write back with minPosition: the seconds the read took."""
    rng = random.Random()
    while time.monotonic() < until:
        family = families.pick(rng)
        written = await add(client, family)
        if written["__typename"] != "CommandSuccess":
            continue
        t.commands += 1
        families.took(family)
        started = time.monotonic()
        answer = await client.post(
            "/graphql",
            json={"query": READ, "variables": {"id": str(family), "at": written["position"]}},
        )
        if "errors" in answer.json():
            t.own_reads.append(float("inf"))  # NOT_FRESH: counted as past every percentile
        else:
            t.own_reads.append(time.monotonic() - started)


async def subscriber(
    url: str, token: str, family: UUID, since: datetime, until: float, t: Tally
) -> None:
    """Follow one family; each new event's delay from being recorded to arriving here."""
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        )
        await ws.recv()
        variables = {"id": str(family), "after": 0}
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": FOLLOW, "variables": variables},
                }
            )
        )
        while time.monotonic() < until:
            try:
                message = json.loads(await asyncio.wait_for(ws.recv(), until - time.monotonic()))
            except TimeoutError:
                return
            if message.get("type") == "next":
                recorded = datetime.fromisoformat(
                    message["payload"]["data"]["familyEvents"]["recordedAt"]
                )
                if recorded >= since:  # the family's history before the load is not timed
                    t.deliveries.append((datetime.now(UTC) - recorded).total_seconds())
