-- Record the outcomes of one worker's sends in one statement. Only messages
-- this worker still leases are touched: one whose lease ran out and was
-- claimed by another worker is that worker's to record, except a delivery: a
-- message this worker did deliver is recorded as sent whatever became of its
-- lease (the other worker's later outcome then finds it sent and is dropped),
-- so a sent message is never sent again for want of its record. Each notification's
-- status follows its pushes: sent once one was delivered, failed when none was
-- and none is left to try. Tokens the push service called dead are deleted
-- afterwards, by delete_tokens.sql in a transaction of their own.
with outcome as (
  select *
  from jsonb_to_recordset(%(outcomes)s::jsonb) as o(
    id uuid, result text, error_code text, retry_at timestamptz
  )
),
recorded as (
  update public.push_outbox p
  set status = case o.result
                 when 'sent' then 'sent'
                 when 'retry' then case when p.attempts >= %(max_attempts)s then 'dead' else 'pending' end
                 else 'failed'
               end,
      available_at = case when o.result = 'retry' then o.retry_at else p.available_at end,
      sent_at = case when o.result = 'sent' then %(now)s end,
      last_error = o.error_code,
      leased_until = null,
      leased_by = null
  from outcome o
  where p.id = o.id
    and (p.status = 'in_flight' and p.leased_by = %(worker)s
         or o.result = 'sent' and p.status <> 'sent')
  returning p.id, p.organization_id, p.notification_id, p.device_token_id, p.status, o.result
),
notified as (
  update public.notifications n
  set status = case when exists (
                 select 1 from public.push_outbox p where p.notification_id = n.id and p.status = 'sent'
               ) or exists (select 1 from recorded r where r.notification_id = n.id and r.status = 'sent')
               then 'sent' else 'failed' end,
      status_changed_at = %(now)s
  where n.id in (select notification_id from recorded)
    and n.status = 'pending'
    and (
      exists (select 1 from recorded r where r.notification_id = n.id and r.status = 'sent')
      or not exists (
        select 1 from public.push_outbox p
        where p.notification_id = n.id
          and p.status in ('pending', 'in_flight')
          and p.id not in (select id from recorded)
      ) and not exists (
        select 1 from recorded r where r.notification_id = n.id and r.status = 'pending'
      )
    )
  returning 1
)
select (select count(*) from recorded where status = 'sent')::integer as sent,
       (select count(*) from recorded where status = 'pending')::integer as retrying,
       (select count(*) from recorded where status = 'failed')::integer as failed,
       (select count(*) from recorded where status = 'dead')::integer as dead,
       (select count(*) from notified)::integer as notifications_settled,
       (select coalesce(array_agg(distinct device_token_id), '{}') from recorded
        where result = 'unregistered' and device_token_id is not null) as dead_tokens,
       -- Per organisation, for the daily cycle's summary: delivered, and given up
       -- on (refused for good or out of attempts).
       (select coalesce(jsonb_object_agg(organization_id, jsonb_build_object(
                  'sent', sent, 'failed', failed)), '{}')
        from (select organization_id,
                     count(*) filter (where status = 'sent') as sent,
                     count(*) filter (where status in ('failed', 'dead')) as failed
              from recorded group by organization_id) per_org) as by_organisation
