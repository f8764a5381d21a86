-- Queue each push once per registered device of its recipient; the push key
-- (private.idempotency_key of notification | device, the SQL form of
-- mentor_notify.domain.keys.push_key) makes a repeat enqueue a no-op.
with input as (
  select *
  from jsonb_to_recordset(%(pushes)s::jsonb) as p(
    notification_id uuid, organization_id uuid, recipient_id uuid, payload jsonb, collapse_key text
  )
),
queued as (
  insert into public.push_outbox (
    organization_id, notification_id, recipient_id, device_token_id, provider, payload,
    collapse_key, idempotency_key, status, available_at, created_at
  )
  select p.organization_id, p.notification_id, p.recipient_id, d.id, d.provider, p.payload,
         p.collapse_key,
         private.idempotency_key(p.notification_id::text, d.id::text),
         'pending', %(now)s, %(now)s
  from input p
  join public.device_tokens d on d.user_id = p.recipient_id
  on conflict do nothing
  returning 1
)
select count(*)::integer as queued from queued
