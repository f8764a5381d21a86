-- `sync status`: the dead letter, oldest first, with each event's reason.
select e.id, o.slug, e.event_type, e.reason
from public.certificate_sync_events e
join public.organizations o on o.id = e.organization_id
where e.status = 'dead' and e.organization_id = any(%(organization_ids)s::uuid[])
order by e.id
limit %(limit)s
