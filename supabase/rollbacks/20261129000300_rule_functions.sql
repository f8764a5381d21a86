-- Rollback of 20261129000300_rule_functions: the rule functions go. The
-- queries that call them must be those of the same release. Idempotent.
drop function if exists private.expiry_tier(integer, integer[]);
drop function if exists private.expiry_tier_days(text);
drop function if exists private.idempotency_key(text[]);
drop function if exists private.local_date(timestamptz, text);
drop function if exists private.renewal_link(uuid, text, text);
