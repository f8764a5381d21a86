"""The database's privacy guard agrees with the Python one and refuses writes."""

import json
from datetime import date
from typing import Any

import pytest
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from mentor_notify.db import CheckViolation, ConstraintCatalog, translating
from mentor_notify.privacy import find_personal_data
from tests.privacy_examples import MUST_FLAG, MUST_PASS, identity_number
from tests.support import fetch_value

VALID_NUMBER = next(
    n for i in range(100, 200) if (n := identity_number(date(1985, 3, 14), i)) is not None
)
_EVERY_EXAMPLE = [value for value, _ in MUST_FLAG] + MUST_PASS


@pytest.mark.parametrize("value", _EVERY_EXAMPLE)
async def test_sql_and_python_agree_on_every_example(
    conn: AsyncConnection[Any], value: str
) -> None:
    as_string = await fetch_value(
        conn, "select private.contains_personal_data(%s)", Jsonb({"note": value})
    )
    as_key = await fetch_value(
        conn, "select private.contains_personal_data(%s)", Jsonb({value: [1, {"x": True}]})
    )
    in_depth = await fetch_value(
        conn, "select private.contains_personal_data(%s)", Jsonb({"a": [{"b": [value]}]})
    )

    expected = bool(find_personal_data({"note": value}))
    assert (as_string, as_key, in_depth) == (expected, expected, expected)
    assert expected == (value not in MUST_PASS)


# Where a value can sit in a document's text: after and before the
# punctuation JSON and links put around it. The JSON check's prefilter
# (supabase/schemas/02_privacy_guard.sql) must let through every text one of
# the patterns matches.
_SURROUNDINGS = ["{}", "x {} y", "a={}&b", "/{}/", "({})", "[{}, 1]", "{}-"]


@pytest.mark.parametrize("value", _EVERY_EXAMPLE)
@pytest.mark.parametrize("surrounding", _SURROUNDINGS)
async def test_the_json_check_agrees_with_python_wherever_the_value_sits(
    conn: AsyncConnection[Any], value: str, surrounding: str
) -> None:
    text = surrounding.format(value)
    documents = [Jsonb({"note": text}), Jsonb(text), Jsonb([text, 1])]
    if text.isdigit() and text[0] != "0":  # as a number: its digits start the text
        documents.append(Jsonb(int(text)))

    flagged = [
        await fetch_value(conn, "select private.contains_personal_data(%s)", document)
        for document in documents
    ]

    assert flagged == [bool(find_personal_data({"note": text}))] * len(documents), text


async def test_numbers_are_checked_in_sql_too(conn: AsyncConnection[Any]) -> None:
    assert await fetch_value(conn, "select private.contains_personal_data('{\"n\": 91234567}')")
    assert not await fetch_value(
        conn, 'select private.contains_personal_data(\'{"n": 25, "r": 0.5, "b": null}\')'
    )


_SCENARIO_ROW = """
with person as (
  insert into auth.users (id, email) values (gen_random_uuid(), 'privacy-test@example.test')
  returning id
), profile as (
  insert into public.users (id, display_name) select id, 'Privacy Test' from person returning id
), org as (
  insert into public.organizations (slug, name, certificate_type)
  values ('privacy-test-' || substr(md5(random()::text), 1, 8), 'Privacy test', 'hlf_peer_mentor')
  returning id
)
insert into public.scenario_notifications (user_id, organization_id, scenario_type, metadata)
select profile.id, org.id, 'inactivity', %s from profile, org
"""


async def test_the_database_refuses_personal_data_in_scenario_metadata(
    conn: AsyncConnection[Any],
) -> None:
    async with conn.transaction():
        await conn.execute(_SCENARIO_ROW, (Jsonb({"inactive_days": 45, "rule": "a-b"}),))

    catalog = await ConstraintCatalog.load(conn)

    async def insert_phone_number() -> None:
        async with conn.transaction():
            with translating(catalog):
                await conn.execute(_SCENARIO_ROW, (Jsonb({"contact": "+47 912 34 567"}),))

    with pytest.raises(CheckViolation) as caught:
        await insert_phone_number()

    assert caught.value.table == "scenario_notifications"
    assert caught.value.columns == ("metadata",)
    assert "never a national identity number, an e-mail address or a phone number" in str(
        caught.value
    )
    # The refused value is not echoed back in the message.
    assert "912 34 567" not in str(caught.value)
    assert json.dumps({"contact": "+47 912 34 567"}) not in str(caught.value)


@pytest.mark.parametrize(
    "document",
    [
        {"note": "line one\n" + VALID_NUMBER},  # escaped in the JSON text: the walk decides
        {"a": "x\t", "b": "kari@example.no"},
        {"quote": 'he said "call +47 912 34 567"'},
    ],
)
async def test_values_needing_escapes_are_still_checked(
    conn: AsyncConnection[Any], document: dict[str, str]
) -> None:
    found = await fetch_value(conn, "select private.contains_personal_data(%s)", Jsonb(document))

    assert found == bool(find_personal_data(document))
    assert found


async def test_a_clean_document_with_ids_and_links_passes_the_fast_path(
    conn: AsyncConnection[Any],
) -> None:
    document = {
        "certification_id": "50000000-0000-4000-8000-000000000001",
        "expiry_date": "2026-12-23",
        "deep_link": "mentornotify://v1/course-enrolment?certification_id="
        "50000000-0000-4000-8000-000000000001&certificate_type=hlf_peer_mentor&tier=expired",
        "count": 12345,
    }

    assert not await fetch_value(conn, "select private.contains_personal_data(%s)", Jsonb(document))
