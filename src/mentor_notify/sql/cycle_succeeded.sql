-- Record that the daily cycle of these organisations finished with every step
-- done (%(done)s: organisation id and the local date it decided for), for the
-- missed-cycle alert (mentor_notify_cycle_last_success_timestamp_seconds). A
-- cycle for an earlier date (an operator re-running a past day) does not move
-- the record back.
insert into public.daily_cycle_successes as s (organization_id, local_date, finished_at)
select d.organization_id, d.local_date, %(now)s
from jsonb_to_recordset(%(done)s::jsonb) as d(organization_id uuid, local_date date)
on conflict (organization_id) do update
set local_date = excluded.local_date, finished_at = excluded.finished_at
where s.local_date <= excluded.local_date
