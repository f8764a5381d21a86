-- What applying one event left: its reason when dead, and the mentor it is
-- about (the person it names, else the holder of the certificate it was
-- applied to), so that only their listings need refreshing afterwards.
select e.reason,
       coalesce(p.user_id, c.peer_mentor_id) as peer_mentor_id
from public.certificate_sync_events e
left join public.certificate_sync_people p
  on p.organization_id = e.organization_id and p.external_person_id = e.external_person_id
left join public.certificate_sync_certificates s
  on s.organization_id = e.organization_id and s.external_certificate_id = e.external_certificate_id
left join public.peer_mentor_certifications c on c.id = s.certification_id
where e.id = %(event_id)s
