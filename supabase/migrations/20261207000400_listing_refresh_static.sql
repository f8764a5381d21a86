-- The listing refresh after certificate changes is static SQL (issue 24's
-- speed targets): the certificate sync applies one event per statement, and
-- the trigger's dynamic UPDATE was planned afresh for each; PL/pgSQL keeps a
-- static statement's plan for the session. Same trigger, same result, so the
-- function is replaced in place (its grants stay). Idempotent.
-- The current definition is in supabase/schemas/06_mentor_directory.sql; the
-- baseline's text holds it too, so re-applying it changes nothing.
set local lock_timeout = '5s';
set local statement_timeout = '1min';

-- After certificates change, refresh the listings of the mentors concerned,
-- set-based, so a bulk load of a million certificates is one statement. The
-- mentors concerned are read from the statement's transition tables: the new
-- rows (insert), the old ones (delete), or both (update, which may move a
-- certificate to another mentor), gathered into one list that the one UPDATE
-- reads. Every statement here is static, so PL/pgSQL keeps its plan for the
-- session: the certificate sync applies one event per statement, and a
-- dynamic UPDATE planned afresh for each cost about four times as much
-- (500 single-row updates, 2026-12-07: 0.23 ms against 1.0 ms of trigger
-- time each; BENCHMARKS.md, issue 24).
create or replace function private.peer_mentor_certifications_refresh_directory()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  organisations uuid[];
  mentors uuid[];
begin
  if tg_op = 'UPDATE' then
    select pg_catalog.array_agg(t.organization_id), pg_catalog.array_agg(t.peer_mentor_id)
      into organisations, mentors
    from (select organization_id, peer_mentor_id from changed_rows
          union
          select organization_id, peer_mentor_id from previous_rows) t;
  else
    select pg_catalog.array_agg(t.organization_id), pg_catalog.array_agg(t.peer_mentor_id)
      into organisations, mentors
    from (select distinct organization_id, peer_mentor_id from changed_rows) t;
  end if;
  update public.mentor_directory d
  set certification_expiry_date = latest.expiry_date,
      lapses_at = private.lapse_instant(latest.expiry_date, o.timezone),
      updated_at = pg_catalog.now()
  from unnest(organisations, mentors) as touched(organization_id, peer_mentor_id)
  join public.organizations o on o.id = touched.organization_id
  cross join lateral (
    select max(c.expiry_date) as expiry_date
    from public.peer_mentor_certifications c
    where c.organization_id = touched.organization_id and c.peer_mentor_id = touched.peer_mentor_id
  ) latest
  where d.organization_id = touched.organization_id
    and d.peer_mentor_id = touched.peer_mentor_id
    and d.certification_expiry_date is distinct from latest.expiry_date;
  return null;
end
$$;
