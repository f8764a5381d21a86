-- Apply one stored event now (its organisation's sync is on); the rule itself
-- is the database function, shared with replay. Also names the mentor the
-- event is about (through the organisation's person mapping), so only their
-- listings need refreshing afterwards.
select private.apply_certificate_sync_event(e.id, %(now)s) as outcome,
       p.user_id as peer_mentor_id
from public.certificate_sync_events e
left join public.certificate_sync_people p
  on p.organization_id = e.organization_id and p.external_person_id = e.external_person_id
where e.id = %(event_id)s
