-- pgls-ignore-all lint/safety/avoidCreateTrigger: on a new database the tables these
-- triggers are added to were created empty just before, so the SHARE ROW EXCLUSIVE
-- lock a trigger takes blocks nothing. Triggers are how this project keeps an
-- invariant between tables (a row and the state derived from it) that no writer
-- may forget; workflows, by contrast, are explicit statements of the jobs.

-- The mentor directory coordinators and the public browse. A
-- mentor whose certificate has lapsed must vanish from it at once (ticket 000
-- and 004 risks): the read policy compares the lapse instant with now() directly, so
-- it holds between sweeps, and suppression_status lets the sweep (or an
-- administrator) hide a mentor for other reasons.

create table if not exists public.mentor_directory (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null,
  chapter_id uuid not null,
  peer_mentor_id uuid not null,
  peer_mentor_role text not null generated always as ('peer_mentor') stored,
  display_name text not null,
  suppression_status text not null default 'active',
  suppression_reason text,
  suppressed_at timestamptz,
  certification_expiry_date date,
  lapses_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint mentor_directory_chapter_fkey foreign key (organization_id, chapter_id)
    references public.chapters (organization_id, id) on delete cascade,
  constraint mentor_directory_membership_fkey foreign key (chapter_id, peer_mentor_id, peer_mentor_role)
    references public.chapter_memberships (chapter_id, user_id, role) on delete cascade,
  constraint mentor_directory_chapter_id_peer_mentor_id_key unique (chapter_id, peer_mentor_id),
  constraint mentor_directory_display_name_check check (length(btrim(display_name)) between 1 and 200),
  constraint mentor_directory_suppression_status_check check (suppression_status in ('active', 'suppressed')),
  constraint mentor_directory_suppression_reason_check check (
    suppression_reason is null or suppression_reason in ('certification_lapsed', 'manual')
  ),
  constraint mentor_directory_suppression_consistency_check check (
    case when suppression_status = 'suppressed'
      then suppression_reason is not null and suppressed_at is not null
      else suppression_reason is null and suppressed_at is null
    end
  )
);
comment on table public.mentor_directory is 'Listing of peer mentors per chapter that coordinators and the public browse to find a mentor; suppressed or lapsed mentors are never shown.';
comment on column public.mentor_directory.id is 'Identifier of the listing.';
comment on column public.mentor_directory.organization_id is 'Organisation of the chapter; must match the chapter''s.';
comment on column public.mentor_directory.chapter_id is 'Chapter the mentor is listed under.';
comment on column public.mentor_directory.peer_mentor_id is 'The listed mentor; must hold the peer_mentor role in the chapter.';
comment on column public.mentor_directory.peer_mentor_role is 'Always peer_mentor; exists so the foreign key can require that role.';
comment on column public.mentor_directory.display_name is 'Name the mentor has agreed to show publicly in the listing.';
comment on column public.mentor_directory.suppression_status is 'active (listed) or suppressed (hidden by the sweep or an administrator).';
comment on column public.mentor_directory.suppression_reason is 'Why the mentor is hidden: certification_lapsed or manual; null while active.';
comment on column public.mentor_directory.suppressed_at is 'When the mentor was hidden; null while active.';
comment on column public.mentor_directory.certification_expiry_date is 'Latest expiry date among the mentor''s certificates from this organisation, kept by the database; null when the mentor holds none.';
comment on column public.mentor_directory.lapses_at is 'First instant the mentor is no longer certified: midnight after certification_expiry_date in the organisation''s timezone. Kept by the database so the read policy is one indexable comparison.';
comment on column public.mentor_directory.created_at is 'When the mentor was first listed.';
comment on column public.mentor_directory.updated_at is 'When the listing last changed.';
comment on constraint mentor_directory_chapter_fkey on public.mentor_directory is 'the chapter must exist and belong to the same organisation';
comment on constraint mentor_directory_membership_fkey on public.mentor_directory is 'only a person holding the peer_mentor role in the chapter can be listed under it';
comment on constraint mentor_directory_chapter_id_peer_mentor_id_key on public.mentor_directory is 'a mentor is listed once per chapter';
comment on constraint mentor_directory_display_name_check on public.mentor_directory is 'the display name must be 1-200 characters and not blank';
comment on constraint mentor_directory_suppression_status_check on public.mentor_directory is 'the suppression status must be active or suppressed';
comment on constraint mentor_directory_suppression_reason_check on public.mentor_directory is 'the suppression reason must be certification_lapsed or manual';
comment on constraint mentor_directory_suppression_consistency_check on public.mentor_directory is 'a suppressed listing needs a reason and a time, and an active one has neither';
-- The listing query and its policy predicate (ticket 000, risk 1): only
-- active rows are ever listed, so the index holds only those.
create index if not exists mentor_directory_listable_idx
  on public.mentor_directory (chapter_id, lapses_at) where suppression_status = 'active';
-- The sweep's search for active listings whose certificate has lapsed.
create index if not exists mentor_directory_active_lapses_at_idx
  on public.mentor_directory (lapses_at) where suppression_status = 'active';
create index if not exists mentor_directory_organization_id_peer_mentor_id_idx
  on public.mentor_directory (organization_id, peer_mentor_id);
create index if not exists mentor_directory_membership_idx
  on public.mentor_directory (chapter_id, peer_mentor_id, peer_mentor_role);
create index if not exists mentor_directory_organization_id_chapter_id_idx
  on public.mentor_directory (organization_id, chapter_id);

-- The lapse rule in one place: a certificate is valid through its expiry date
-- in the organisation's own calendar, so the mentor lapses at the midnight
-- that starts the next local day. Every listing's lapses_at is computed here.
create or replace function private.lapse_instant(expiry_date date, timezone text)
returns timestamptz
language sql
immutable
parallel safe
set search_path = ''
as $$
  select ((expiry_date + 1)::timestamp at time zone timezone)
$$;
comment on function private.lapse_instant(date, text) is
  'First instant a certificate expiring on expiry_date is no longer valid: the midnight after it in the given timezone.';

-- Certificate dates are copied into the listing whenever a listing is written.
create or replace function private.mentor_directory_before_write()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  select latest.expiry_date,
         private.lapse_instant(latest.expiry_date, o.timezone)
    into new.certification_expiry_date, new.lapses_at
  from public.organizations o
  cross join lateral (
    select max(c.expiry_date) as expiry_date
    from public.peer_mentor_certifications c
    where c.organization_id = new.organization_id and c.peer_mentor_id = new.peer_mentor_id
  ) latest
  where o.id = new.organization_id;
  if tg_op = 'UPDATE' then
    new.updated_at := pg_catalog.now();
  end if;
  return new;
end
$$;
comment on function private.mentor_directory_before_write() is
  'Fills certification_expiry_date and lapses_at of a listing from the mentor''s certificates and the organisation''s timezone.';

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
comment on function private.peer_mentor_certifications_refresh_directory() is
  'Recomputes certification_expiry_date and lapses_at of the listings of mentors whose certificates were inserted, changed or deleted.';

-- A new organisation timezone moves every listing's lapse instant.
create or replace function private.organizations_refresh_directory()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  update public.mentor_directory d
  set lapses_at = private.lapse_instant(d.certification_expiry_date, new.timezone),
      updated_at = pg_catalog.now()
  where d.organization_id = new.id;
  return null;
end
$$;
comment on function private.organizations_refresh_directory() is
  'Recomputes lapses_at of an organisation''s listings after its timezone changes.';

revoke all on function private.lapse_instant(date, text) from public, anon, authenticated, service_role;
revoke all on function private.mentor_directory_before_write() from public;
revoke all on function private.peer_mentor_certifications_refresh_directory() from public;
revoke all on function private.organizations_refresh_directory() from public;

create or replace trigger mentor_directory_before_write
  before insert or update of organization_id, peer_mentor_id on public.mentor_directory
  for each row execute function private.mentor_directory_before_write();

create or replace trigger peer_mentor_certifications_directory_after_insert
  after insert on public.peer_mentor_certifications
  referencing new table as changed_rows
  for each statement execute function private.peer_mentor_certifications_refresh_directory();

create or replace trigger peer_mentor_certifications_directory_after_update
  after update on public.peer_mentor_certifications
  referencing old table as previous_rows new table as changed_rows
  for each statement execute function private.peer_mentor_certifications_refresh_directory();

create or replace trigger peer_mentor_certifications_directory_after_delete
  after delete on public.peer_mentor_certifications
  referencing old table as changed_rows
  for each statement execute function private.peer_mentor_certifications_refresh_directory();

create or replace trigger organizations_refresh_directory
  after update of timezone on public.organizations
  for each row when (old.timezone is distinct from new.timezone)
  execute function private.organizations_refresh_directory();

-- The expiry sweep's directory step (src/mentor_notify/expiry/sql/directory.sql)
-- looks, per organisation, for active listings whose certificate has lapsed
-- and for listings it hid itself whose certificate is valid again. Without an
-- index on those columns both halves read every listing of the organisation
-- (at a million mentors, two scans of 330,000 rows per organisation each
-- night to change a few hundred); with this one each half reads only the rows
-- it changes.
create index if not exists mentor_directory_organization_id_suppression_idx
  on public.mentor_directory (organization_id, suppression_status, certification_expiry_date);
comment on index public.mentor_directory_organization_id_suppression_idx is
  'Lets the expiry sweep''s directory step find an organisation''s lapsed active listings, and the listings it hid that are valid again, without reading the others.';

alter table public.mentor_directory enable row level security;

-- Visible to the public and to signed-in users alike: listed, not suppressed,
-- and certified right now. The date test does not wait for the sweep.
drop policy if exists mentor_directory_select_listable on public.mentor_directory;
create policy mentor_directory_select_listable on public.mentor_directory
  for select to anon, authenticated
  using (suppression_status = 'active' and lapses_at > (select now()));

-- Privileges (see the grants note in 01_organisations_and_people.sql). The public listing:
-- who is listed, in which chapter, under which name. No certificate date: an
-- anonymous visitor has no reason to learn when a named volunteer's
-- certificate lapses, and a coordinator reads the certificates of their own
-- mentors from peer_mentor_certifications.
revoke all on public.mentor_directory from anon, authenticated, service_role;
grant select (id, organization_id, chapter_id, peer_mentor_id, display_name)
  on public.mentor_directory to anon, authenticated;
grant select, insert, update, delete on public.mentor_directory to service_role;
