-- Activity totals of the evaluated mentors, one grouped pass over their
-- organisations' activities: how many, and the latest (up to now; an
-- activity registered for later does not count yet).
create temp table mentor_activity on commit drop as
select a.peer_mentor_id as user_id, a.organization_id,
       count(*)::integer as activity_count, max(a.occurred_at) as last_at
from public.activities a
where a.organization_id in (select distinct organization_id from scenario_mentors)
  and a.occurred_at <= %(now)s
group by a.peer_mentor_id, a.organization_id
