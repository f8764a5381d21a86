-- Rollback of 20261207000400_listing_refresh_static: the listing refresh goes
-- back to one dynamic UPDATE per statement (the baseline's first definition).
-- Idempotent.
create or replace function private.peer_mentor_certifications_refresh_directory()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  execute pg_catalog.format($update$
    update public.mentor_directory d
    set certification_expiry_date = latest.expiry_date,
        lapses_at = private.lapse_instant(latest.expiry_date, o.timezone),
        updated_at = pg_catalog.now()
    from (%s) touched
    join public.organizations o on o.id = touched.organization_id
    cross join lateral (
      select max(c.expiry_date) as expiry_date
      from public.peer_mentor_certifications c
      where c.organization_id = touched.organization_id and c.peer_mentor_id = touched.peer_mentor_id
    ) latest
    where d.organization_id = touched.organization_id
      and d.peer_mentor_id = touched.peer_mentor_id
      and d.certification_expiry_date is distinct from latest.expiry_date
    $update$,
    case when tg_op = 'UPDATE'
      then 'select organization_id, peer_mentor_id from changed_rows
            union
            select organization_id, peer_mentor_id from previous_rows'
      else 'select distinct organization_id, peer_mentor_id from changed_rows'
    end);
  return null;
end
$$;
