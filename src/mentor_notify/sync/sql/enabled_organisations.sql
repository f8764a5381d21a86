-- The applier's round: the organisations whose sync is on, and their time
-- zones. Held events of the others are not counted (a count per store, while a
-- switched-off organisation collects thousands, was the round's main cost).
select o.id as organization_id, o.slug, o.timezone
from public.certificate_sync_settings s
join public.organizations o on o.id = s.organization_id
where s.enabled
order by o.slug
