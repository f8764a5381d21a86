-- Who besides the mentor hears about each due certificate of the slice: their
-- coordinators (private.mentor_coordinators: those assigned to them in any of
-- the organisation's chapters, the rule the data-quality report shares).
-- Where a mentor has no coordinator at all, the admins of their chapters
-- stand in (ticket 004's contingency); the sweep reports those mentors as a
-- data-quality finding. (The mentor is told by write_notices.sql itself.)
with chapters as (
  select c.certification_id, c.peer_mentor_id, m.chapter_id
  from expiry_due c
  join public.chapter_memberships m
    on m.user_id = c.peer_mentor_id
   and m.organization_id = c.organization_id
   and m.role = 'peer_mentor'
),
coordinators as (
  select distinct c.certification_id, k.coordinator_id as recipient_id
  from expiry_due c
  join private.mentor_coordinators k
    on k.organization_id = c.organization_id and k.peer_mentor_id = c.peer_mentor_id
),
admins as (
  select distinct ch.certification_id, m.user_id as recipient_id
  from chapters ch
  join public.chapter_memberships m
    on m.chapter_id = ch.chapter_id and m.role = 'chapter_admin'
  where m.user_id <> ch.peer_mentor_id
    and not exists (select 1 from coordinators k where k.certification_id = ch.certification_id)
)
insert into expiry_recipients (certification_id, recipient_id, audience)
select certification_id, recipient_id, 'coordinator' from coordinators
union all
select certification_id, recipient_id, 'chapter_admin' from admins
