-- The business rules that SQL must apply to a whole set, each written once:
--
--   private.expiry_tier(days_left, thresholds)  which notice tier a certificate
--       is in (mentor_notify.domain.tiers.classify_tier); used by the expiry
--       sweep's candidates query, the certification-expiry scenario and the
--       demo summary.
--   private.expiry_tier_days(tier)  the days a tier stands for, as kept in
--       certification_expiry_tracking.notification_thresholds_sent
--       (mentor_notify.domain.tiers.Tier.days).
--   private.idempotency_key(variadic parts)  SHA-256 hex of the parts joined
--       by '|' (mentor_notify.domain.keys.idempotency_key); used where SQL
--       derives keys for a whole set (the scenario delivery).
--   private.local_date(instant, timezone)  the organisation's calendar date
--       at an instant (mentor_notify.domain.clock.AsOf.local_date); used by
--       the certification-expiry scenario and the demo summary.
--   private.renewal_link(certification_id, certificate_type, tier)  the
--       mentor's v1 renewal deep link (mentor_notify.domain.deep_links.renewal_link),
--       used by the certification-expiry scenario's delivery.
--   private.expiry_due_tier(days_left, thresholds, tiers_sent)  the expiry
--       sweep's due rule: which tier's notice the sweep sends a certificate
--       today (its tier today, unless that tier was already sent in the
--       current expiry cycle). The sweep's candidates query and the
--       certification-expiry follow-up scenario both call it: the follow-up
--       stands aside on a day the sweep will tell the mentor about the same
--       certificate (mentor_notify.domain.tiers).
--
-- tests/integration/test_rule_functions.py holds each to its Python
-- definition: the tier over every day from -3 to 95 for every threshold set,
-- keys and links over sample inputs, the due rule over every day, threshold
-- set and set of tiers sent.
--
-- All are pure (immutable), pinned to an empty search_path, and live in the
-- unexposed `private` schema. The jobs call them as the owner role; no API
-- role needs them (no view or policy calls them), so EXECUTE is taken from
-- everyone else explicitly.

create or replace function private.expiry_tier(days_left integer, thresholds integer[])
returns text
language sql
immutable
parallel safe
set search_path = ''
as $$
  -- Lapsed the day after expiry; otherwise the most urgent configured window
  -- the certificate is in (smallest threshold at least the days left); null
  -- when it is further out than every threshold.
  select case
           when days_left < 0 then 'expired'
           else (select 'expiry_warning_' || pg_catalog.min(th) || 'd'
                 from pg_catalog.unnest(thresholds) th
                 where th >= days_left)
         end
$$;
comment on function private.expiry_tier(integer, integer[]) is
  'Expiry tier of a certificate with days_left days to expiry under the organisation''s thresholds: expired, expiry_warning_<n>d, or null when not yet due. Mirrors mentor_notify.domain.tiers.classify_tier.';

create or replace function private.expiry_tier_days(tier text)
returns integer
language sql
immutable
parallel safe
set search_path = ''
as $$
  select case tier when 'expired' then 0
                   else pg_catalog.substring(tier, 'expiry_warning_([0-9]+)d')::integer end
$$;
comment on function private.expiry_tier_days(text) is
  'Days a tier stands for (0 for expired), as stored in certification_expiry_tracking.notification_thresholds_sent. Mirrors mentor_notify.domain.tiers.Tier.days.';

create or replace function private.idempotency_key(variadic parts text[])
returns text
language sql
immutable
parallel safe
set search_path = ''
as $$
  select pg_catalog.encode(
           pg_catalog.sha256(pg_catalog.convert_to(pg_catalog.array_to_string(parts, '|'), 'UTF8')),
           'hex')
$$;
comment on function private.idempotency_key(text[]) is
  'Idempotency key: lowercase hex SHA-256 of the parts joined by |. Mirrors mentor_notify.domain.keys.idempotency_key.';

create or replace function private.renewal_link(
  certification_id uuid, certificate_type text, tier text
)
returns text
language sql
immutable
parallel safe
set search_path = ''
as $$
  -- Ids, known certificate codes and tier codes need no URL escaping.
  select 'mentornotify://v1/course-enrolment?certification_id=' || certification_id
         || '&certificate_type=' || certificate_type || '&tier=' || tier
$$;
comment on function private.renewal_link(uuid, text, text) is
  'The mentor''s v1 deep link to the renewal course. Mirrors mentor_notify.domain.deep_links.renewal_link.';

create or replace function private.local_date(instant timestamptz, timezone text)
returns date
language sql
immutable
parallel safe
set search_path = ''
as $$
  -- Certificates expire by the organisation's own calendar, not UTC's.
  select (instant at time zone timezone)::date
$$;
comment on function private.local_date(timestamptz, text) is
  'Calendar date at an instant in an IANA timezone (the organisation''s "today"). Mirrors mentor_notify.domain.clock.AsOf.local_date.';

revoke all on function
  private.expiry_tier(integer, integer[]),
  private.local_date(timestamptz, text),
  private.expiry_tier_days(text),
  private.idempotency_key(text[]),
  private.renewal_link(uuid, text, text)
from public, anon, authenticated, service_role;

create or replace function private.expiry_due_tier(
  days_left integer, thresholds integer[], tiers_sent integer[]
)
returns text
language sql
immutable
parallel safe
set search_path = ''
as $$
  -- Once per tier per expiry cycle: the tier the certificate is in today
  -- (private.expiry_tier), unless its days are already among the tiers sent
  -- (certification_expiry_tracking.notification_thresholds_sent).
  select case when not (private.expiry_tier_days(t.tier) = any (tiers_sent)) then t.tier end
  from (select private.expiry_tier(days_left, thresholds) as tier) t
$$;
comment on function private.expiry_due_tier(integer, integer[], integer[]) is
  'The tier whose notice the expiry sweep sends a certificate today (days_left days to expiry, the organisation''s thresholds, the tiers already sent in this expiry cycle), or null when none is due. The sweep''s due rule; the certification follow-up stands aside when it is not null. Composed of private.expiry_tier and private.expiry_tier_days.';

revoke all on function private.expiry_due_tier(integer, integer[], integer[])
from public, anon, authenticated, service_role;
