-- Rollback of 20261207000200_push_payload: private.expiry_push_payload builds
-- its payload itself again (the same payload, as before the migration) and
-- private.push_payload goes. The scenario engine's and the claim's statements
-- that call it must be those of the same release. Idempotent.
create or replace function private.expiry_push_payload(
  notification_id uuid, audience text, tier text, certificate_type text, certification_id uuid,
  mentor_id uuid, expiry_date date, deep_link text
)
returns jsonb
language sql
stable
parallel safe
as $$
  -- Provider-neutral: the senders map the keys onto FCM and APNs. The 7-day
  -- and lapsed notices are urgent (high priority).
  select pg_catalog.jsonb_build_object(
           'category', 'certification_expiry',
           'title_key', private.expiry_message_key(audience, tier) || '.title',
           'body_key', private.expiry_message_key(audience, tier) || '.body',
           'priority', case when tier in ('expiry_warning_7d', 'expired') then 'high'
                            else 'normal' end,
           'data', pg_catalog.jsonb_build_object(
                     'notification_id', notification_id::text,
                     'category', 'certification_expiry',
                     'tier', tier,
                     'certificate_type', certificate_type,
                     'certification_id', certification_id::text,
                     'subject_mentor_id', mentor_id::text,
                     'expiry_date', expiry_date::text,
                     'deep_link', deep_link))
$$;
comment on function private.expiry_push_payload(uuid, text, text, text, uuid, uuid, date, text) is
  'push_notices.payload announcing a stored expiry notice.';
drop function if exists private.push_payload(text, text, text, boolean, uuid, text, jsonb);
