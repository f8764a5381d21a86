-- Take this week's silent re-registration push for every stale device of the
-- members of the organisations that turned it on (organizations.
-- reregistration_push), narrowed to %(only)s (ids or slugs) when given.
-- Stale is the one staleness rule (private.stale_device_cutoff at
-- private.stale_device_age(), the data-quality report's and `push
-- stale-tokens`'s). The row in device_reregistrations is the week's claim:
-- its key (device, week) lets one push through per device per week, so a
-- second run, a second worker or a second organisation of the same person
-- takes nothing. A device of a person in two such organisations is taken once,
-- for the first organisation by id. %(now)s is the real clock, %(week)s the
-- Monday of its UTC week.
with candidates as (
  select distinct on (d.id) d.id, d.provider, d.token, m.organization_id
  from public.device_tokens d
  join public.chapter_memberships m on m.user_id = d.user_id
  join public.organizations o on o.id = m.organization_id
  where o.reregistration_push
    and d.last_refreshed_at < (select private.stale_device_cutoff(%(now)s, private.stale_device_age()))
    and (%(only)s::text[] is null or o.id::text = any (%(only)s::text[]) or o.slug = any (%(only)s::text[]))
  order by d.id, m.organization_id
),
taken as (
  insert into public.device_reregistrations (device_token_id, week_start, organization_id, provider, created_at)
  select c.id, %(week)s, c.organization_id, c.provider, %(now)s
  from candidates c
  on conflict (device_token_id, week_start) do nothing
  returning device_token_id, organization_id, provider
)
select t.device_token_id, t.organization_id, t.provider, c.token
from taken t
join candidates c on c.id = t.device_token_id
order by t.device_token_id
