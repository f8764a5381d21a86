-- One statement writes every notice of the run: the in-app notification
-- (pending), the cert_notification_log entry and a push per registered device
-- of the recipient. Each insert is guarded by its unique idempotency key
-- (ON CONFLICT DO NOTHING), so a re-run, or a copy running beside this one,
-- adds nothing; pushes are queued only for notifications this statement
-- created. Keys, message keys, data and payload mirror
-- mentor_notify.domain.keys and mentor_notify.domain.expiry_messages.
with planned as (
  select c.certification_id,
         c.organization_id,
         c.peer_mentor_id,
         c.certificate_type,
         c.expiry_date,
         to_char(c.expiry_date, 'YYYY-MM-DD') as expiry_text,
         c.tier,
         r.recipient_id,
         r.audience,
         'certification_expiry.'
           || case r.audience when 'mentor' then 'mentor' else 'coordinator' end
           || '.' || c.tier as message_key,
         case r.audience
           when 'mentor' then
             'mentornotify://v1/course-enrolment?certification_id=' || c.certification_id
             || '&certificate_type=' || c.certificate_type || '&tier=' || c.tier
           else
             'mentornotify://v1/mentors/' || c.peer_mentor_id
             || '/certification?certification_id=' || c.certification_id || '&tier=' || c.tier
         end as deep_link
  from expiry_candidates c
  join expiry_recipients r on r.certification_id = c.certification_id
),
notified as (
  insert into public.notifications as n (
    organization_id, recipient_id, subject_mentor_id, category, certificate_type,
    threshold_tier, notification_window_start, message_key, data, status,
    idempotency_key, created_at
  )
  select p.organization_id, p.recipient_id, p.peer_mentor_id, 'certification_expiry',
         p.certificate_type, p.tier, p.expiry_date, p.message_key,
         jsonb_build_object(
           'audience', p.audience,
           'certification_id', p.certification_id,
           'expiry_date', p.expiry_text,
           'deep_link', p.deep_link
         ),
         'pending',
         encode(sha256(convert_to(concat_ws('|', 'certification_expiry', p.certification_id,
                                            p.tier, p.expiry_text, p.recipient_id), 'UTF8')), 'hex'),
         %(now)s
  from planned p
  on conflict do nothing
  returning n.id, n.organization_id, n.recipient_id, n.subject_mentor_id, n.certificate_type,
            n.threshold_tier, n.message_key, n.data
),
logged as (
  insert into public.cert_notification_log (
    certification_id, notification_type, sent_at, recipient_id, idempotency_key, organization_id
  )
  select p.certification_id, p.tier, %(now)s, p.recipient_id,
         encode(sha256(convert_to(concat_ws('|', p.certification_id, p.tier, p.expiry_text,
                                            p.recipient_id), 'UTF8')), 'hex'),
         p.organization_id
  from planned p
  on conflict do nothing
  returning 1
),
queued as (
  insert into public.push_outbox (
    organization_id, notification_id, recipient_id, device_token_id, provider, payload,
    collapse_key, idempotency_key, status, available_at, created_at
  )
  select n.organization_id, n.id, n.recipient_id, d.id, d.provider,
         jsonb_build_object(
           'category', 'certification_expiry',
           'title_key', n.message_key || '.title',
           'body_key', n.message_key || '.body',
           'priority', case when n.threshold_tier in ('expiry_warning_7d', 'expired')
                            then 'high' else 'normal' end,
           'data', jsonb_build_object(
             'notification_id', n.id,
             'category', 'certification_expiry',
             'tier', n.threshold_tier,
             'certificate_type', n.certificate_type,
             'certification_id', n.data ->> 'certification_id',
             'subject_mentor_id', n.subject_mentor_id,
             'expiry_date', n.data ->> 'expiry_date',
             'deep_link', n.data ->> 'deep_link'
           )
         ),
         'expiry:' || (n.data ->> 'certification_id'),
         encode(sha256(convert_to(concat_ws('|', n.id, d.id), 'UTF8')), 'hex'),
         'pending', %(now)s, %(now)s
  from notified n
  join public.device_tokens d on d.user_id = n.recipient_id
  on conflict do nothing
  returning 1
)
select (select count(*) from notified)::integer as notifications,
       (select count(*) from logged)::integer as log_entries,
       (select count(*) from queued)::integer as pushes
