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
-- All are pure and live in the unexposed `private` schema; all but
-- idempotency_key, renewal_link and local_date (inlined into the statements
-- that call them; local_date by the push claim for every notice, migration
-- 20261207100100), and the expiry notice's rules at the end of this file,
-- which build on them, are pinned to an empty search_path. The jobs call them as the owner role; no API
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

-- idempotency_key and renewal_link are inlined into the expiry notice's rules
-- below (no SET clause; see the note above those rules).
create or replace function private.idempotency_key(variadic parts text[])
returns text
language sql
stable
parallel safe
as $$
  select pg_catalog.encode(
           pg_catalog.sha256(pg_catalog.convert_to(pg_catalog.array_to_string(parts, '|'), 'UTF8')),
           'hex')
$$;
comment on function private.idempotency_key(text[]) is
  'Idempotency key: lowercase hex SHA-256 of the parts joined by |. Mirrors mentor_notify.domain.keys.idempotency_key. Inlined (no SET clause; see migration 20261206000200).';

create or replace function private.renewal_link(
  certification_id uuid, certificate_type text, tier text
)
returns text
language sql
immutable
parallel safe
as $$
  -- Ids, known certificate codes and tier codes need no URL escaping.
  select 'mentornotify://v1/course-enrolment?certification_id=' || certification_id::text
         || '&certificate_type=' || certificate_type || '&tier=' || tier
$$;
comment on function private.renewal_link(uuid, text, text) is
  'The mentor''s v1 deep link to the renewal course. Mirrors mentor_notify.domain.deep_links.renewal_link. Inlined (no SET clause; see migration 20261206000200).';

create or replace function private.local_date(instant timestamptz, timezone text)
returns date
language sql
immutable
parallel safe
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

-- The rules of an expiry notice (issue 28). The expiry job builds its notices
-- for a whole set in one write path (src/mentor_notify/expiry/sql/
-- write_notices.sql), fed by the sweep's slice or by the ticket-004
-- orchestrator's batch; each function below is the SQL twin of one Python
-- definition, held equal to it by tests/integration/test_rule_functions.py:
--
--   private.expiry_notification_key / private.cert_log_key  the notice's and
--       its log row's idempotency keys (mentor_notify.domain.keys).
--   private.expiry_message_key(audience, tier)  notifications.message_key
--       (mentor_notify.domain.expiry_messages.message_key).
--   private.coordinator_follow_up_link  the coordinator's v1 link
--       (mentor_notify.domain.deep_links.coordinator_follow_up_link);
--       private.expiry_deep_link picks it or private.renewal_link by audience
--       (mentor_notify.domain.expiry_messages.deep_link).
--   private.expiry_notice_data  notifications.data (ExpiryMessage.data).
--   private.expiry_push_payload  push_notices.payload of an expiry notice, in the
--       one shape of a push (private.push_payload, 04_notifications_and_push.sql).
--   private.expiry_collapse_key  push_notices.collapse_key (collapse_key).
--
-- Inlined: these, and private.idempotency_key and private.renewal_link they
-- build on, have no SET clause, because a SQL function with its own
-- search_path is never inlined and each call then costs 5-7 us (about a dozen
-- calls a notice, more than writing the notice; migration 20261206000200 has
-- the figures). Their bodies are safe without a pinned search_path: every
-- function is called schema-qualified, every value is cast to text before ||
-- or =, so each operator matches exactly in pg_catalog (searched first), and
-- none is SECURITY DEFINER. Their volatility is what their bodies are (STABLE
-- where a text conversion is), as inlining requires.
-- supabase/tests/00_schema_shape.sql lists them as the only functions without
-- a pinned search_path. The jobs call them as the owner role, so EXECUTE is
-- taken from everyone else.

create or replace function private.expiry_notification_key(
  certification_id uuid, tier text, expiry_date date, recipient_id uuid
)
returns text
language sql
stable
parallel safe
as $$
  -- The expiry date is the cycle: a renewal brings new keys, re-runs the same.
  select private.idempotency_key('certification_expiry', certification_id::text, tier,
                                 expiry_date::text, recipient_id::text)
$$;
comment on function private.expiry_notification_key(uuid, text, date, uuid) is
  'notifications.idempotency_key of an expiry notice. Mirrors mentor_notify.domain.keys.expiry_notification_key.';

create or replace function private.cert_log_key(
  certification_id uuid, tier text, expiry_date date, recipient_id uuid
)
returns text
language sql
stable
parallel safe
as $$
  select private.idempotency_key(certification_id::text, tier, expiry_date::text,
                                 recipient_id::text)
$$;
comment on function private.cert_log_key(uuid, text, date, uuid) is
  'cert_notification_log.idempotency_key of an expiry notice. Mirrors mentor_notify.domain.keys.cert_log_key.';

create or replace function private.expiry_message_key(audience text, tier text)
returns text
language sql
immutable
parallel safe
as $$
  -- Chapter admins standing in for a coordinator read the coordinators' texts.
  select 'certification_expiry.'
         || case when audience = 'mentor' then 'mentor' else 'coordinator' end
         || '.' || tier
$$;
comment on function private.expiry_message_key(text, text) is
  'notifications.message_key of an expiry notice for an audience (mentor, coordinator, chapter_admin) and tier. Mirrors mentor_notify.domain.expiry_messages.message_key.';

create or replace function private.coordinator_follow_up_link(
  mentor_id uuid, certification_id uuid, tier text
)
returns text
language sql
immutable
parallel safe
as $$
  -- Ids and tier codes need no URL escaping.
  select 'mentornotify://v1/mentors/' || mentor_id::text || '/certification?certification_id='
         || certification_id::text || '&tier=' || tier
$$;
comment on function private.coordinator_follow_up_link(uuid, uuid, text) is
  'A coordinator''s v1 deep link to a mentor''s certification. Mirrors mentor_notify.domain.deep_links.coordinator_follow_up_link.';

create or replace function private.expiry_deep_link(
  audience text, mentor_id uuid, certification_id uuid, certificate_type text, tier text
)
returns text
language sql
immutable
parallel safe
as $$
  -- Renewal for the mentor, follow-up for whoever is told about the mentor.
  select case when audience = 'mentor'
              then private.renewal_link(certification_id, certificate_type, tier)
              else private.coordinator_follow_up_link(mentor_id, certification_id, tier) end
$$;
comment on function private.expiry_deep_link(text, uuid, uuid, text, text) is
  'Deep link of an expiry notice for its audience. Mirrors mentor_notify.domain.expiry_messages.deep_link.';

create or replace function private.expiry_notice_data(
  audience text, certification_id uuid, expiry_date date, deep_link text
)
returns jsonb
language sql
stable
parallel safe
as $$
  -- Ids, codes, a date and the link: nothing personal in a stored notice.
  select pg_catalog.jsonb_build_object(
           'audience', audience,
           'certification_id', certification_id::text,
           'expiry_date', expiry_date::text,
           'deep_link', deep_link)
$$;
comment on function private.expiry_notice_data(text, uuid, date, text) is
  'notifications.data of an expiry notice. Mirrors mentor_notify.domain.expiry_messages.ExpiryMessage.data.';

create or replace function private.expiry_push_payload(
  notification_id uuid, audience text, tier text, certificate_type text, certification_id uuid,
  mentor_id uuid, expiry_date date, deep_link text
)
returns jsonb
language sql
stable
parallel safe
as $$
  -- What an expiry push says, in the one shape of a push
  -- (private.push_payload): the notice's message keys, urgent (high priority)
  -- for the 7-day and lapsed notices, and the certificate's ids and codes.
  select private.push_payload(
           'certification_expiry',
           private.expiry_message_key(audience, tier) || '.title',
           private.expiry_message_key(audience, tier) || '.body',
           tier in ('expiry_warning_7d', 'expired'),
           notification_id,
           deep_link,
           pg_catalog.jsonb_build_object(
             'category', 'certification_expiry',
             'tier', tier,
             'certificate_type', certificate_type,
             'certification_id', certification_id::text,
             'subject_mentor_id', mentor_id::text,
             'expiry_date', expiry_date::text))
$$;
comment on function private.expiry_push_payload(uuid, text, text, text, uuid, uuid, date, text) is
  'push_notices.payload announcing a stored expiry notice, built by private.push_payload.';

create or replace function private.expiry_collapse_key(certification_id uuid)
returns text
language sql
immutable
parallel safe
as $$
  -- One per certificate: a newer tier replaces an older one on the device.
  select 'expiry:' || certification_id::text
$$;
comment on function private.expiry_collapse_key(uuid) is
  'push_notices.collapse_key of an expiry push. Mirrors mentor_notify.domain.expiry_messages.collapse_key.';

revoke all on function
  private.expiry_notification_key(uuid, text, date, uuid),
  private.cert_log_key(uuid, text, date, uuid),
  private.expiry_message_key(text, text),
  private.coordinator_follow_up_link(uuid, uuid, text),
  private.expiry_deep_link(text, uuid, uuid, text, text),
  private.expiry_notice_data(text, uuid, date, text),
  private.expiry_push_payload(uuid, text, text, text, uuid, uuid, date, text),
  private.expiry_collapse_key(uuid)
from public, anon, authenticated, service_role;
