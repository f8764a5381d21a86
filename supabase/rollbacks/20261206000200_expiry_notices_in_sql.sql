-- Rollback of 20261206000200_expiry_notices_in_sql: the SQL forms of the expiry
-- notice's rules go. The expiry job's statements that call them must be those
-- of the same release. Idempotent.
drop function if exists private.expiry_push_payload(uuid, text, text, text, uuid, uuid, date, text);
drop function if exists private.expiry_notice_data(text, uuid, date, text);
drop function if exists private.expiry_deep_link(text, uuid, uuid, text, text);
drop function if exists private.coordinator_follow_up_link(uuid, uuid, text);
drop function if exists private.expiry_message_key(text, text);
drop function if exists private.cert_log_key(uuid, text, date, uuid);
drop function if exists private.expiry_notification_key(uuid, text, date, uuid);
drop function if exists private.expiry_collapse_key(uuid);
-- Defined by this migration too since 20261207000200 (so that it gives the
-- current text); gone already when that migration's rollback ran first.
drop function if exists private.push_payload(text, text, text, boolean, uuid, text, jsonb);
-- The rules the notice's are composed on, and the certificate-type check, back
-- as 20261129000300 and 20261129000010 defined them (with their own
-- search_path, so no longer inlined).
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
create or replace function private.is_known_certificate_type(certificate_type text)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select certificate_type in ('hlf_peer_mentor', 'nhf_peer_mentor', 'blindeforbundet_peer_mentor')
$$;
comment on function private.is_known_certificate_type(text) is
  'True for the certificate type codes the programmes issue; shared by every table that stores a certificate_type.';
