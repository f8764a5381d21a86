-- Queue one push notice per notification for its recipient. Devices are read
-- when the push is sent (push/sql/claim.sql), so a person with no device
-- still gets a notice, settled then. The unique notification makes a repeat
-- enqueue a no-op.
with input as (
  select *
  from jsonb_to_recordset(%(pushes)s::jsonb) as p(
    notification_id uuid, organization_id uuid, recipient_id uuid, payload jsonb, collapse_key text
  )
),
queued as (
  insert into public.push_notices (
    organization_id, notification_id, recipient_id, payload, collapse_key, status, available_at,
    created_at
  )
  select p.organization_id, p.notification_id, p.recipient_id, p.payload, p.collapse_key,
         'pending', %(now)s, %(now)s
  from input p
  on conflict do nothing
  returning 1
)
select count(*)::integer as queued from queued
