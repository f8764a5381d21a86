-- `sync status`: events per organisation and status, with each organisation's
-- switch and the age of its oldest held event.
select o.id as organization_id,
       o.slug,
       coalesce(s.enabled, false) as enabled,
       count(e.id) filter (where e.status = 'pending')::integer as pending,
       count(e.id) filter (where e.status = 'applied')::integer as applied,
       count(e.id) filter (where e.status = 'superseded')::integer as superseded,
       count(e.id) filter (where e.status = 'dead')::integer as dead,
       min(e.received_at) filter (where e.status = 'pending') as oldest_pending_at
from public.organizations o
left join public.certificate_sync_settings s on s.organization_id = o.id
left join public.certificate_sync_events e on e.organization_id = o.id
where o.id = any(%(organization_ids)s::uuid[])
group by o.id, o.slug, s.enabled
order by o.slug
