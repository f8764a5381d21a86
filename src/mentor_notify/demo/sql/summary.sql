-- What the demo data holds, one row per organisation, as of %(as_of)s (the
-- business moment the demo decides for). "Today" is the organisation's own
-- calendar date, so the expiry tiers match what that organisation's sweep sees.
with org as (
  select o.id, o.slug, o.name, o.timezone, o.expiry_thresholds,
         private.local_date(%(as_of)s::timestamptz, o.timezone) as local_today
  from public.organizations o
),
-- Each certificate's tier by the sweep's rule (private.expiry_tier); null:
-- not yet due.
cert as (
  select c.organization_id,
         private.expiry_tier(c.expiry_date - org.local_today, org.expiry_thresholds) as tier
  from public.peer_mentor_certifications c
  join org on org.id = c.organization_id
),
role_counts as (
  select ch.organization_id,
         count(distinct ch.id) as chapters,
         count(distinct m.user_id) filter (where m.role = 'peer_mentor') as peer_mentors,
         count(distinct m.user_id) filter (where m.role = 'coordinator') as coordinators,
         count(distinct m.user_id) filter (where m.role = 'chapter_admin') as chapter_admins
  from public.chapters ch
  left join public.chapter_memberships m on m.chapter_id = ch.id
  group by ch.organization_id
)
select org.id as organization_id, org.slug, org.name, org.timezone,
       org.expiry_thresholds as thresholds, org.local_today,
       coalesce(r.chapters, 0) as chapters,
       coalesce(r.coordinators, 0) as coordinators,
       coalesce(r.chapter_admins, 0) as chapter_admins,
       coalesce(r.peer_mentors, 0) as peer_mentors,
       (select count(*) from cert where cert.organization_id = org.id) as certificates,
       (select coalesce(jsonb_object_agg(tier, n), '{}')
        from (select coalesce(cert.tier, 'none') as tier, count(*) as n
              from cert where cert.organization_id = org.id group by 1) tiers) as tiers,
       (select count(distinct d.id)
        from public.device_tokens d
        join public.chapter_memberships m on m.user_id = d.user_id
        join public.chapters ch on ch.id = m.chapter_id
        where ch.organization_id = org.id) as devices,
       (select count(*) from public.activities a
        where a.organization_id = org.id
          and a.occurred_at > %(as_of)s::timestamptz - interval '30 days') as activities_30d,
       (select count(*) from public.mentor_directory md
        where md.organization_id = org.id
          and md.suppression_status = 'active' and md.lapses_at > %(as_of)s::timestamptz) as listed,
       (select count(*) from public.mentor_directory md
        where md.organization_id = org.id
          and not (md.suppression_status = 'active' and md.lapses_at > %(as_of)s::timestamptz)) as hidden
from org
left join role_counts r on r.organization_id = org.id
order by org.name;
