-- The orchestrator's bulk write of a batch, in one statement: the in-app
-- notifications (pending), their cert_notification_log entries, and the tiers
-- marked sent in the certificates' sweep state (%(marks)s: every due record
-- of the batch, also those whose notices all existed, with the days its tier
-- stands for, mentor_notify.domain.tiers.Tier.days, and the business day it
-- was decided for), so no later run picks them again and the certification
-- follow-up stands aside that day. Existing notices are skipped by their unique keys. The expiry
-- date must still match when marking: a renewal committed meanwhile has
-- started a new cycle. Returns the created notices (their keys and ids as two
-- arrays in the same order) and the counts.
with input as (
  select *
  from jsonb_to_recordset(%(notices)s::jsonb) as k(
    key text, log_key text, organization_id uuid, mentor_id uuid, certification_id uuid,
    certificate_type text, tier text, expiry_date date, recipient_id uuid, message_key text,
    data jsonb
  )
),
notified as (
  insert into public.notifications as n (
    organization_id, recipient_id, subject_mentor_id, category, certificate_type,
    threshold_tier, notification_window_start, message_key, data, status,
    idempotency_key, created_at
  )
  select organization_id, recipient_id, mentor_id, 'certification_expiry', certificate_type,
         tier, expiry_date, message_key, data, 'pending', key, %(now)s
  from input
  on conflict do nothing
  returning n.idempotency_key, n.id
),
logged as (
  insert into public.cert_notification_log (
    certification_id, notification_type, sent_at, recipient_id, idempotency_key, organization_id
  )
  select certification_id, tier, %(now)s, recipient_id, log_key, organization_id
  from input
  on conflict do nothing
  returning 1
),
marked as (
  update public.certification_expiry_tracking t
  set notification_thresholds_sent = t.notification_thresholds_sent || x.days,
      last_notified_at = %(now)s,
      last_notified_on = x.day
  from jsonb_to_recordset(%(marks)s::jsonb)
         as x(certification_id uuid, expiry_date date, days integer, day date)
  where t.certification_id = x.certification_id
    and t.expiry_date = x.expiry_date
    and not (x.days = any (t.notification_thresholds_sent))
  returning 1
)
select c.keys as created_keys,
       c.ids as created_ids,
       (select count(*) from logged)::integer as logged,
       (select count(*) from marked)::integer as marked
from (select coalesce(array_agg(idempotency_key), '{}') as keys, coalesce(array_agg(id), '{}') as ids
      from notified) c
