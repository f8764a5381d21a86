-- Every organisation with the timezone its daily cycle is scheduled in.
select id, slug, timezone
from public.organizations
order by slug
