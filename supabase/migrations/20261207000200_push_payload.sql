-- The push payload built in one place (issue 25). Every push_notices.payload
-- (an expiry notice's, a scenario nudge's, a digest's) is built by one
-- function, private.push_payload: category, title and body translation keys,
-- priority, and data carrying the notification id and the deep link beside
-- the producer's own ids. Before, it was built three times: in
-- private.expiry_push_payload (and its Python twin), inline in the scenario
-- engine's deliver_hits.sql and inline in the claim's digest stage. The
-- payloads are the same as before, key for key (tests pin them).
--
-- 1. private.push_payload, in supabase/schemas/04_notifications_and_push.sql.
--    Like the expiry rule functions (migration 20261206000200, 2.), it has no
--    SET clause so the planner inlines it: the expiry sweep calls it once per
--    notice. Safe without a pinned search_path for the same reasons: called
--    schema-qualified, every value cast to text, the jsonb || operator
--    matched exactly in pg_catalog, not SECURITY DEFINER.
-- 2. private.expiry_push_payload keeps deciding what an expiry push says
--    (keys, urgency by tier, the certificate's ids) and builds it with
--    private.push_payload. Migration 20261206000200 carries the same text, so
--    applying either again leaves the current definitions.
--
-- Grants: the owner's; nobody else may execute either (the jobs call them as
-- the owner). Idempotent: "create or replace" and "comment on".

set local lock_timeout = '5s';
set local statement_timeout = '1min';

create or replace function private.push_payload(
  category text, title_key text, body_key text, urgent boolean, notification_id uuid,
  deep_link text, data jsonb
)
returns jsonb
language sql
stable
parallel safe
as $$
  select pg_catalog.jsonb_build_object(
           'category', category,
           'title_key', title_key,
           'body_key', body_key,
           'priority', case when urgent then 'high' else 'normal' end,
           'data', coalesce(data, '{}'::jsonb) || pg_catalog.jsonb_build_object(
                                                      'notification_id', notification_id::text,
                                                      'deep_link', deep_link))
$$;
comment on function private.push_payload(text, text, text, boolean, uuid, text, jsonb) is
  'The one builder of push_notices.payload (expiry notices, scenario nudges, digests): category, title and body keys, priority (high when urgent), and data with the notification id and deep link added to the caller''s ids.';
revoke all on function private.push_payload(text, text, text, boolean, uuid, text, jsonb)
  from public, anon, authenticated, service_role;

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
revoke all on function private.expiry_push_payload(uuid, text, text, text, uuid, uuid, date, text)
  from public, anon, authenticated, service_role;
