-- The organisations a run covers, in a stable order; %(only)s narrows it to
-- the given ids or slugs (null means all). Under row-level security only the
-- ones the connected role may see.
select id, slug, timezone, expiry_thresholds
from public.organizations
where %(only)s::text[] is null or id::text = any (%(only)s::text[]) or slug = any (%(only)s::text[])
order by slug
