-- `sync mappings`: the Dataverse names and date behaviour each organisation
-- has stored (organisations without a row use the proposal in the code).
select o.id as organization_id, o.slug, to_jsonb(m) - 'organization_id' - 'updated_at' as mapping
from public.organizations o
left join public.certificate_sync_mappings m on m.organization_id = o.id
where o.id = any(%(organization_ids)s::uuid[])
order by o.slug
