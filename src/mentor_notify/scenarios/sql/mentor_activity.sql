-- Activity totals of the mentors of the organisations evaluated, one grouped
-- pass over their activities, shared by the scenarios of a run (a session
-- temporary table, dropped when the run ends): how many, and the latest (up
-- to now; an activity registered for later does not count yet).
create temp table mentor_activity as
select a.peer_mentor_id as user_id, a.organization_id,
       count(*)::integer as activity_count, max(a.occurred_at) as last_at
from public.activities a
where a.occurred_at <= %(as_of)s
  and (%(organizations)s::text[] is null
       or a.organization_id in (
         select o.id from public.organizations o
         where o.id::text = any (%(organizations)s::text[]) or o.slug = any (%(organizations)s::text[])))
group by a.peer_mentor_id, a.organization_id
