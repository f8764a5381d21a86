-- Scenario rules with their organisation's slug and chapter's name, defaults
-- first; %(only)s narrows to organisation ids or slugs (null: all).
select r.id, r.organization_id, o.slug as organization_slug, r.chapter_id,
       c.name as chapter_name, r.scenario_type, r.parameters, r.cooldown, r.enabled, r.messages
from public.scenario_rules r
join public.organizations o on o.id = r.organization_id
left join public.chapters c on c.id = r.chapter_id
where %(only)s::text[] is null or o.id::text = any (%(only)s::text[]) or o.slug = any (%(only)s::text[])
order by o.slug, r.chapter_id nulls first, c.name, r.scenario_type
