-- The mentors a scenario is evaluated for, each with the rule that governs
-- them: their chapter's rule for the scenario where there is one (a disabled
-- one switches the scenario off there), else their organisation's default.
-- A mentor in several chapters of an organisation takes the first chapter
-- rule by chapter id, so the choice is stable. %(organizations)s narrows to
-- organisation ids or slugs (null: all).
create temp table scenario_mentors on commit drop as
select distinct on (m.user_id, m.organization_id)
       m.user_id, m.organization_id, m.created_at as member_since,
       r.id as rule_id, r.enabled, r.parameters, r.cooldown, r.messages
from public.chapter_memberships m
join public.organizations o on o.id = m.organization_id
join public.scenario_rules r
  on r.organization_id = m.organization_id
 and r.scenario_type = %(scenario_type)s::text
 and (r.chapter_id = m.chapter_id or r.chapter_id is null)
where m.role = 'peer_mentor'
  and (%(organizations)s::text[] is null
       or o.id::text = any (%(organizations)s::text[]) or o.slug = any (%(organizations)s::text[]))
order by m.user_id, m.organization_id, r.chapter_id is null, m.chapter_id
