-- The feature flag of the organisations a replay covers, and how many events
-- each holds.
select o.id as organization_id,
       o.slug,
       o.timezone,
       coalesce(s.enabled, false) as enabled,
       (select count(*) from public.certificate_sync_events e
        where e.organization_id = o.id and e.status = 'pending')::integer as pending
from public.organizations o
left join public.certificate_sync_settings s on s.organization_id = o.id
where o.id = any(%(organization_ids)s::uuid[])
order by o.slug
