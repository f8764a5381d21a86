-- The gauges every process exports, read when Prometheus scrapes: one row per
-- sample (metric, label value, value), in one statement so a scrape costs one
-- round trip. Each part reads an index or a small table:
--
-- * push notices waiting (pending), being sent (in_flight) and dead, each
--   counted on its partial index: settled notices (sent, failed, skipped,
--   folded) are history, and counting them would read the whole queue on
--   every scrape (95 ms at 260,000 notices, bench/bench_metrics.py);
-- * pushes due now: pending past their time (push_notices_pending_idx) and in
--   flight with a lapsed lease (push_notices_in_flight_idx), and how long the
--   oldest has been due: a dispatcher that keeps up keeps it near zero; one
--   that claims nothing lets it grow;
-- * sync events by status ('dead' is the dead letter);
-- * each organisation's last successful daily cycle, 0 for one that never had
--   one, so a missed cycle shows as an age (the alert compares it to a day);
-- * the current week's re-registration pushes by status.
-- %(now)s is the real clock; %(week)s the Monday of its UTC week.
select 'push_notices' as metric, 'pending' as label, count(*)::float8 as value
from public.push_notices where status = 'pending'
union all
select 'push_notices', 'in_flight', count(*)::float8
from public.push_notices where status = 'in_flight'
union all
select 'push_notices', 'dead', count(*)::float8
from public.push_notices where status = 'dead'
union all
select 'push_due', '', (
  (select count(*) from public.push_notices where status = 'pending' and available_at <= %(now)s)
  + (select count(*) from public.push_notices where status = 'in_flight' and leased_until <= %(now)s)
)::float8
union all
select 'oldest_due_age', '', coalesce(extract(epoch from %(now)s - least(
  (select min(available_at) from public.push_notices where status = 'pending' and available_at <= %(now)s),
  (select min(leased_until) from public.push_notices where status = 'in_flight' and leased_until <= %(now)s)
)), 0)::float8
union all
select 'sync_events', status, count(*)::float8
from public.certificate_sync_events
group by status
union all
select 'cycle_last_success', o.slug, coalesce(extract(epoch from s.finished_at), 0)::float8
from public.organizations o
left join public.daily_cycle_successes s on s.organization_id = o.id
union all
select 'reregistrations_this_week', status, count(*)::float8
from public.device_reregistrations
where week_start = %(week)s
group by status
