"""The sync endpoints' OpenAPI document against the live API (issue 24): requests
generated from the document, with an organisation's webhook key, reach the accepted
paths (events stored) of both endpoints, meet no server error, and every answer
matches the document."""

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings

from mentor_notify.api.api_keys import key_sha256
from mentor_notify.db import Pool
from tests.integration.test_api_schemathesis import (  # noqa: F401 - fixtures
    CHECKS,
    emulator_url,
    live_url,
    mentor_id,
)

KEY = "schemathesis-sync-key-0123456789abcdefghijk"


async def test_both_sync_endpoints_store_generated_events_without_a_server_error(
    own_pool: Pool,
    mentor_id: str,  # noqa: F811 - builds the world
    live_url: str,  # noqa: F811
) -> None:
    async with own_pool.connection() as conn:
        cur = await conn.execute("select id, slug from public.organizations order by slug limit 1")
        org = await cur.fetchone()
        assert org is not None
        await conn.execute(
            "insert into public.certificate_sync_keys (organization_id, key_sha256) "
            "values (%s, %s)",
            [org["id"], key_sha256(KEY)],
        )
    schema = schemathesis.openapi.from_url(f"{live_url}/openapi.json")
    operations = [
        result.ok()
        for result in schema.get_all_operations()
        if result.ok().path.startswith("/v1/sync/")
    ]

    for operation in operations:
        explore(operation, live_url, org["slug"])

    async with own_pool.connection() as conn:
        cur = await conn.execute(
            "select source || case when receive_problem is null then '' else '/dead' end "
            "as source, count(*) as n from public.certificate_sync_events group by 1"
        )
        stored = {r["source"]: r["n"] for r in await cur.fetchall()}
    assert sorted(op.label for op in operations) == [
        "POST /v1/sync/{organization}/dataverse",
        "POST /v1/sync/{organization}/events",
    ]
    # Every generated Dataverse body is stored (kept dead when it names no certificate
    # table: the generator does not guess the mapped names); v1 events are accepted
    # as events to apply, not only kept dead.
    assert stored.get("dataverse", 0) + stored.get("dataverse/dead", 0) > 0
    assert stored.get("v1", 0) > 0


def explore(operation: Any, url: str, organization: str) -> None:
    """Generated requests for one sync operation, on the organisation whose key is given."""

    @given(case=operation.as_strategy())
    @settings(
        max_examples=60,
        derandomize=True,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        case.path_parameters = {"organization": organization}
        case.query = None
        case.call_and_validate(base_url=url, headers={"apikey": KEY}, checks=CHECKS)

    check()
