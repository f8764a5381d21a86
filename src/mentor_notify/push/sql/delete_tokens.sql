-- Delete device tokens the push service called dead; their messages still
-- queued then fail (device_token_id becomes null). Run after the outcomes are
-- recorded, in its own transaction. A token another worker has pushes in flight
-- to is left for that worker (it hears the same answer and deletes it when it
-- records): the cascade onto those leased rows would wait for it while it
-- waits for rows the cascade already took, a deadlock the daily-cycle benchmark
-- met with coordinators' devices, which receive many notices at once. The rows
-- are locked in id order so two workers deleting overlapping sets queue up.
with doomed as (
  select d.id from public.device_tokens d
  where d.id = any (%(ids)s::uuid[])
    and not exists (
      select 1 from public.push_outbox p
      where p.device_token_id = d.id and p.status = 'in_flight' and p.leased_by <> %(worker)s
    )
  order by d.id
  for update of d
),
deleted as (
  delete from public.device_tokens d
  using doomed
  where d.id = doomed.id
  returning 1
)
select count(*)::integer as n from deleted
