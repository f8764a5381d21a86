-- Due certificates whose renewal history has grown past the size ticket 001
-- warns about; reported, never truncated (it is the audit trail).
select c.certification_id
from expiry_due c
join public.peer_mentor_certifications p on p.id = c.certification_id
where jsonb_array_length(p.renewal_history) > %(limit)s
order by c.certification_id
