-- Data quality: due certificates whose mentor has no assigned coordinator in
-- the organisation, with how many chapter admins were told instead (0 means
-- nobody but the mentor heard).
select c.peer_mentor_id as mentor_id,
       c.certification_id,
       count(r.recipient_id) filter (where r.audience = 'chapter_admin')::integer as fallback_recipients
from expiry_due c
left join expiry_recipients r on r.certification_id = c.certification_id
group by c.peer_mentor_id, c.certification_id
having count(r.recipient_id) filter (where r.audience = 'coordinator') = 0
order by c.peer_mentor_id, c.certification_id
