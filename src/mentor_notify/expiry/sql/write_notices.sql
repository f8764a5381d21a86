-- The expiry job's one write path: the notices of every staged due record
-- (expiry_due, with whom else to tell in expiry_recipients; staged by the
-- sweep for a slice or by the orchestrator for its batch), each built once
-- by the SQL forms of the rules (migration 20261206000200: keys, message key,
-- data, deep link, push payload, collapse key), and in one statement:
--
-- * the in-app notifications (pending), to the mentor and to each recipient;
--   a notice that exists already (same key, or same mentor, certificate type,
--   tier, expiry cycle and recipient) is skipped by the unique indexes;
-- * their cert_notification_log rows;
-- * the tier marked sent in the certificates' sweep state for every due
--   record, also one whose notices all existed, with the business day decided
--   for, so no later run picks it again and the certification follow-up
--   stands aside that day. The expiry date must still match: a renewal
--   committed meanwhile has started a new cycle;
-- * the pushes announcing the notices created, left in expiry_pushes for
--   enqueue.sql (the one place the expiry job writes the push queue).
--
-- The notice's id is drawn here, so its push payload is built with the rest
-- of the notice. Returns the counts, and how many due records got no new
-- notice (duplicates, ticket 004's "skipped").
with told as (
  select d.*, d.peer_mentor_id as recipient_id, 'mentor'::text as audience
  from expiry_due d
  union all
  select d.*, r.recipient_id, r.audience
  from expiry_due d
  join expiry_recipients r on r.certification_id = d.certification_id
),
notices as (
  select gen_random_uuid() as id, t.*,
         private.expiry_deep_link(t.audience, t.peer_mentor_id, t.certification_id,
                                  t.certificate_type, t.tier) as deep_link
  from told t
),
notified as (
  insert into public.notifications as n (
    id, organization_id, recipient_id, subject_mentor_id, category, certificate_type,
    threshold_tier, notification_window_start, message_key, data, status,
    idempotency_key, created_at
  )
  select x.id, x.organization_id, x.recipient_id, x.peer_mentor_id, 'certification_expiry',
         x.certificate_type, x.tier, x.expiry_date,
         private.expiry_message_key(x.audience, x.tier),
         private.expiry_notice_data(x.audience, x.certification_id, x.expiry_date, x.deep_link),
         'pending',
         private.expiry_notification_key(x.certification_id, x.tier, x.expiry_date,
                                         x.recipient_id),
         %(now)s
  from notices x
  on conflict do nothing
  returning n.id
),
created as (
  select x.*
  from notices x
  join notified n on n.id = x.id
),
logged as (
  insert into public.cert_notification_log (
    certification_id, notification_type, sent_at, recipient_id, idempotency_key, organization_id
  )
  select x.certification_id, x.tier, %(now)s, x.recipient_id,
         private.cert_log_key(x.certification_id, x.tier, x.expiry_date, x.recipient_id),
         x.organization_id
  from notices x
  on conflict do nothing
  returning 1
),
marked as (
  update public.certification_expiry_tracking t
  set notification_thresholds_sent = t.notification_thresholds_sent || d.days,
      last_notified_at = %(now)s,
      last_notified_on = d.day
  from expiry_due d
  where t.certification_id = d.certification_id
    and t.expiry_date = d.expiry_date
    and not (d.days = any (t.notification_thresholds_sent))
  returning 1
),
announced as (
  insert into expiry_pushes (notification_id, organization_id, recipient_id, payload, collapse_key)
  select x.id, x.organization_id, x.recipient_id,
         private.expiry_push_payload(x.id, x.audience, x.tier, x.certificate_type,
                                     x.certification_id, x.peer_mentor_id, x.expiry_date,
                                     x.deep_link),
         private.expiry_collapse_key(x.certification_id)
  from created x
  returning 1
)
select (select count(*) from expiry_due)::integer as due,
       (select count(*) from notified)::integer as created,
       (select count(*) from logged)::integer as logged,
       (select count(*) from marked)::integer as marked,
       (select count(*) from expiry_due d
        where not exists (select 1 from created x
                          where x.certification_id = d.certification_id))::integer as skipped
