"""Recording a family's story through GraphQL, one command after another, on a calendar
that starts at the crossing on 2018-05-20."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.scenarios.graphql import RESULT, Client

CROSSING = datetime(2018, 5, 20, 12, tzinfo=UTC)


def day(n: int) -> str:
    """Noon, n days after the crossing on 2018-05-20."""
    return (CROSSING + timedelta(days=n)).isoformat()


class Caseworker:
    """Sends one command after another to one family and keeps the last position written."""

    def __init__(self, client: Client, family_id: str | None = None) -> None:
        self.client, self.family_id, self.position = client, family_id, 0

    async def record(self, mutation: str, input_type: str, **fields: Any) -> dict[str, Any]:
        """Run a command; it must succeed."""
        query = f"""mutation($input: {input_type}!, $prov: ProvenanceInput) {{
            {mutation}(input: $input, provenance: $prov) {{ {RESULT} }} }}"""
        if self.family_id is not None:
            fields.setdefault("familyId", self.family_id)
        data = await self.client.run(
            query,
            input=fields,
            prov={"source": f"case file, {mutation}", "reason": "caseworker entry"},
        )
        result: dict[str, Any] = data[mutation]
        assert result["__typename"] == "CommandSuccess", (mutation, result)
        self.position = result["position"]
        return result
