-- What a dry run would send: one row per notice, ids and codes only.
select c.certification_id, c.peer_mentor_id as mentor_id, c.certificate_type, c.tier,
       c.expiry_date, r.recipient_id, r.audience
from expiry_candidates c
join expiry_recipients r on r.certification_id = c.certification_id
order by c.tier, c.certification_id, r.audience, r.recipient_id
