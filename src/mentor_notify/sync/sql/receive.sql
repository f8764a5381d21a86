-- Store one received event before the sender is answered (issues 19 and 24:
-- never lose an event), for the organisation the caller's key was checked
-- against; no row back means it no longer exists. A delivery that can never be
-- applied as received (its receive_problem says why) is stored dead at once. A repeat of the same request id stores nothing and
-- reports the event already held.
with org as (
  select o.id from public.organizations o where o.id = %(organization_id)s
),
inserted as (
  insert into public.certificate_sync_events (
    organization_id, source, source_event_id, event_type, external_person_id,
    external_certificate_id, external_type, issued_on, expiry_date, revoked_on,
    source_modified_at, source_version, is_deletion, receive_problem, body_sha256,
    received_at, status, reason, processed_at
  )
  select org.id, %(source)s, %(source_event_id)s, %(event_type)s, %(external_person_id)s,
         %(external_certificate_id)s, %(external_type)s, %(issued_on)s, %(expiry_date)s,
         %(revoked_on)s, %(source_modified_at)s, %(source_version)s, %(is_deletion)s,
         %(receive_problem)s::text, %(body_sha256)s, %(now)s,
         case when %(receive_problem)s::text is null then 'pending' else 'dead' end,
         %(receive_problem)s::text,
         case when %(receive_problem)s::text is null then null else %(now)s::timestamptz end
  from org
  on conflict (organization_id, source, source_event_id) do nothing
  returning id, status, reason
)
select org.id as organization_id,
       coalesce(i.id, e.id) as event_id,
       coalesce(i.status, e.status) as status,
       case when i.id is null then e.reason else i.reason end as reason,
       i.id is null as duplicate
from org
left join inserted i on true
left join public.certificate_sync_events e
  on i.id is null
 and e.organization_id = org.id
 and e.source = %(source)s
 and e.source_event_id = %(source_event_id)s
