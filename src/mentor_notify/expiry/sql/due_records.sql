-- The due certificates of the slice with who hears about each, one row per
-- certificate in a stable order: read back only when the slice's write fails,
-- so the orchestrator can write them batch by batch, and record by record.
select c.certification_id,
       c.organization_id,
       c.peer_mentor_id as mentor_id,
       c.certificate_type,
       c.expiry_date,
       coalesce(array_agg(r.recipient_id order by r.recipient_id)
                  filter (where r.audience = 'coordinator'), '{}') as coordinator_ids,
       coalesce(array_agg(r.recipient_id order by r.recipient_id)
                  filter (where r.audience = 'chapter_admin'), '{}') as admin_ids
from expiry_due c
left join expiry_recipients r on r.certification_id = c.certification_id
group by c.certification_id, c.organization_id, c.peer_mentor_id, c.certificate_type,
         c.expiry_date
order by c.certification_id
