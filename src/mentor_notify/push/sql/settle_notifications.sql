-- Stage "notifications" of the settle statement: each notification follows
-- its push (the carrier's and those it carried), and the statement returns
-- its counts and the notifications settled, to which other packages react;
-- it writes none of their tables.
-- Every notice of a settled push: the carrier and what it carried.
finished as (
  select s.notification_id, s.organization_id, s.status, s.last_error, s.channels
  from settled s
  where s.status <> 'pending'
  union all
  select f.notification_id, s.organization_id, s.status, s.last_error, s.channels
  from settled_folded f
  join settled s on s.id = f.carrier_id
),
notified as (
  update public.notifications n
  set status = case when f.status = 'sent' then 'sent' else 'failed' end,
      status_changed_at = %(now)s
  from finished f
  where n.id = f.notification_id
    and n.status is distinct from (case when f.status = 'sent' then 'sent' else 'failed' end)
  returning 1
)
select (select count(*) from recorded where status = 'sent')::integer as sent,
       -- Read from the statement's snapshot: deliveries sent before this settle.
       (select count(*) from sends where result = 'sent' and was_sent)::integer as duplicates,
       (select count(*) from recorded where status = 'retry')::integer as retrying,
       (select count(*) from recorded where status in ('failed', 'unregistered'))::integer as failed,
       (select count(*) from withdrawn)::integer as withdrawn,
       (select count(*) from settled where status = 'dead')::integer as dead,
       (select count(*) from notified)::integer as notifications_settled,
       -- For the packages that react to settled pushes (the scenarios').
       (select coalesce(array_agg(notification_id), '{}') from finished) as settled_notifications,
       (select coalesce(array_agg(distinct device_token_id), '{}') from recorded
        where result = 'unregistered' and device_token_id is not null) as dead_tokens,
       -- Per organisation, for the daily cycle's summary: pushes (to a person)
       -- delivered, and given up on (refused by every device, or out of attempts).
       (select coalesce(jsonb_object_agg(organization_id, jsonb_build_object(
                  'sent', sent, 'failed', failed)), '{}')
        from (select organization_id,
                     count(*) filter (where status = 'sent') as sent,
                     count(*) filter (where status in ('failed', 'dead')) as failed
              from settled group by organization_id) per_org) as by_organisation
