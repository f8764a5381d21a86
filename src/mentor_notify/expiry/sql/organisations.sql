-- The organisations a sweep covers, in a stable order; %(only)s narrows it to
-- the given ids or slugs (null means all).
select id, slug, timezone, expiry_thresholds
from public.organizations
where %(only)s::text[] is null or id::text = any (%(only)s::text[]) or slug = any (%(only)s::text[])
order by slug
