"""Every rule the schema enforces can be explained to a person.

Error translation takes a constraint's plain-words rule from its COMMENT, so
each CHECK, UNIQUE and EXCLUDE constraint and each unique index that backs no
constraint must carry one. Primary and foreign keys have good generic wording.
"""

from mentor_notify.db import ConstraintCatalog, Pool


async def test_every_check_unique_and_exclusion_rule_has_a_comment(pool: Pool) -> None:
    async with pool.connection() as conn:
        catalog = await ConstraintCatalog.load(conn)

    uncommented = sorted(
        f"{c.table}.{c.name} ({c.kind})"
        for c in catalog.constraints.values()
        if c.kind in ("check", "unique", "exclusion", "index") and not c.comment
    )

    assert uncommented == []
