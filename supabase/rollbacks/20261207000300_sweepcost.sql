-- Rollback of 20261207000300_sweepcost: the push queue's one way in takes its
-- JSON array again and writes push_notices itself (its definition of
-- 20261206000300 before this release); the typed form and its row type go;
-- the tracking table's indexes on organization_id and on the certificate
-- foreign key's columns come back.
-- Idempotent.
create or replace function private.enqueue_push(notices jsonb, at timestamptz)
returns integer
language sql
volatile
set search_path = ''
as $$
  with queued as (
    insert into public.push_notices (
      organization_id, notification_id, recipient_id, payload, collapse_key, status,
      available_at, created_at
    )
    select n.organization_id, n.notification_id, n.recipient_id, n.payload, n.collapse_key,
           'pending', at, at
    from jsonb_to_recordset(notices) as n(
      notification_id uuid, organization_id uuid, recipient_id uuid, payload jsonb,
      collapse_key text
    )
    on conflict do nothing
    returning 1
  )
  select count(*)::integer from queued
$$;
drop function if exists private.enqueue_push(private.push_notice_in[], timestamptz);
drop type if exists private.push_notice_in;
create index if not exists certification_expiry_tracking_organization_id_idx
  on public.certification_expiry_tracking (organization_id);
create index if not exists certification_expiry_tracking_certification_fkey_idx
  on public.certification_expiry_tracking (certification_id, organization_id, peer_mentor_id, certificate_type, expiry_date);
