-- Delete device tokens the push service called dead; their messages still
-- queued then fail (device_token_id becomes null). Run after the outcomes are
-- recorded, in its own transaction: inside the recording statement, the
-- cascade onto push_outbox met another worker recording pushes to the same
-- device (a coordinator's many notices) and the two deadlocked. The rows are
-- locked in id order so two workers deleting overlapping sets queue up instead.
with doomed as (
  select id from public.device_tokens
  where id = any (%(ids)s::uuid[])
  order by id
  for update
)
delete from public.device_tokens d
using doomed
where d.id = doomed.id
