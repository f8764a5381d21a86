-- One batch of the retention job for {table}: the oldest rows recorded before
-- the cutoff and not still in use (settled_only.sql), at most one batch of
-- them. SKIP LOCKED leaves rows another transaction holds to a later run
-- instead of waiting on them, so the job never queues behind (or blocks) the
-- sweeps.
with doomed as (
  select {key}
  from public.{table}
  where {time_column} < %(cutoff)s
  {settled}
  order by {time_column}
  limit %(batch_size)s
  for update skip locked
)
delete from public.{table} t
using doomed
where t.{key} = doomed.{key}
