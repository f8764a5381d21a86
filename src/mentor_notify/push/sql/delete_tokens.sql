-- Delete device tokens the push service called dead; their deliveries keep
-- their record (device_token_id becomes null), and later claims no longer
-- find the device. Run after the outcomes are recorded, in its own
-- transaction. A token another dispatcher is sending to right now is left for
-- that dispatcher (it hears the same answer and deletes it when it records):
-- the cascade onto its delivery rows would wait for it while it waits for rows
-- the cascade already took. The rows are locked in id order so two
-- dispatchers deleting overlapping sets queue up.
with doomed as (
  select d.id from public.device_tokens d
  where d.id = any (%(ids)s::uuid[])
    and not exists (
      select 1 from public.push_deliveries x
      join public.push_notices p on p.id = x.notice_id
      where x.device_token_id = d.id and x.status = 'in_flight'
        and p.status = 'in_flight' and p.leased_by <> %(worker)s
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
