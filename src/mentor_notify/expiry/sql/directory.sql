-- Directory visibility (ticket 000): hide the listings of mentors whose
-- latest certificate in the organisation has lapsed, and list again those
-- the sweep hid whose renewal moved the expiry date back into the future.
-- Manual suppressions are never lifted here. (Row-level security already
-- hides a lapsed listing the moment lapses_at passes; this makes the state
-- explicit for coordinators' tools and reports.) %(peer_mentor_ids)s narrows
-- the step to some mentors (the certificate sync, right after applying one
-- event); null means every listing of the organisation (the sweep).
with suppressed as (
  update public.mentor_directory d
  set suppression_status = 'suppressed',
      suppression_reason = 'certification_lapsed',
      suppressed_at = %(now)s,
      updated_at = %(now)s
  where d.organization_id = %(organization_id)s
    and d.suppression_status = 'active'
    and d.certification_expiry_date < %(today)s::date
    and (%(peer_mentor_ids)s::uuid[] is null or d.peer_mentor_id = any (%(peer_mentor_ids)s::uuid[]))
  returning 1
),
restored as (
  update public.mentor_directory d
  set suppression_status = 'active',
      suppression_reason = null,
      suppressed_at = null,
      updated_at = %(now)s
  where d.organization_id = %(organization_id)s
    and d.suppression_status = 'suppressed'
    and d.suppression_reason = 'certification_lapsed'
    and d.certification_expiry_date >= %(today)s::date
    and (%(peer_mentor_ids)s::uuid[] is null or d.peer_mentor_id = any (%(peer_mentor_ids)s::uuid[]))
  returning 1
)
select (select count(*) from suppressed)::integer as suppressed,
       (select count(*) from restored)::integer as restored
