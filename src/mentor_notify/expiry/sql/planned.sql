-- What a dry run would send: one row per notice (the mentor's and those of
-- expiry_recipients, as write_notices.sql writes them), ids and codes only.
select c.certification_id, c.peer_mentor_id as mentor_id, c.certificate_type, c.tier,
       c.expiry_date, r.recipient_id, r.audience
from expiry_due c
cross join lateral (
  select c.peer_mentor_id as recipient_id, 'mentor' as audience
  union all
  select x.recipient_id, x.audience from expiry_recipients x
  where x.certification_id = c.certification_id
) r
order by c.tier, c.certification_id, r.audience, r.recipient_id
