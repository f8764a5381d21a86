-- Explicit, least-privilege grants for the API roles: everything the mobile
-- app and server-side callers of the Data API may touch, table by table and
-- column by column, and nothing else.
--
-- Why: Supabase no longer grants the API roles anything on new tables in
-- public. New projects since 2026-05-30, and every project for tables created
-- since 2026-10-30, start with no privileges for anon, authenticated and
-- service_role (Supabase changelog, 2026-04-28, "New tables in the public
-- schema will no longer be exposed to the Data API automatically"; checked
-- 2026-11-29). Without the grants below the app gets 42501 on every table and
-- row-level security is never reached. The old defaults were also too broad
-- (TRUNCATE and TRIGGER for anon), so this migration first takes every API
-- role privilege away and then grants exactly what is needed. It does the
-- same on any project, old or new: no project setting needs to be toggled.
--
-- Who gets what:
--   authenticated  reads what RLS lets a signed-in person see; writes only
--                  their devices, their push choices, their own activities,
--                  their name and language, and the seen/read/archived marks
--                  of their notifications;
--   anon           the public mentor listing's columns, without any
--                  certificate date;
--   service_role   select, insert, update and delete on every table (it
--                  bypasses RLS; trusted server-side code on the Data API).
-- Nobody but the owner gets TRUNCATE, TRIGGER or REFERENCES.
--
-- Idempotent: revokes and grants are repeatable, and the policy is replaced.

-- ---------------------------------------------------------------------------
-- The chapters a person mentors in, for the activities policy at the end
-- (a coordinator or chapter admin of a chapter is a member of it, but does
-- not register mentoring activities there).
-- ---------------------------------------------------------------------------
create or replace function private.peer_mentor_chapter_ids()
returns uuid[]
language sql
stable
security definer
set search_path = ''
as $$
  select coalesce(array_agg(m.chapter_id), '{}')
  from public.chapter_memberships m
  where m.user_id = (select auth.uid()) and m.role = 'peer_mentor'
$$;
comment on function private.peer_mentor_chapter_ids() is
  'Chapters in which the requesting user is a peer mentor (for RLS policies).';
revoke all on function private.peer_mentor_chapter_ids() from public;

-- ---------------------------------------------------------------------------
-- A clean slate: no API role privilege on any table or function here.
-- ---------------------------------------------------------------------------
revoke all on all tables in schema public from anon, authenticated, service_role;
revoke all on all functions in schema private from public, anon, authenticated, service_role;
-- anon calls nothing in private: its only policy compares a column with now().
revoke usage on schema private from anon;

-- Future objects start closed to the API roles too, on a project that still
-- has the old defaults. Default privileges are per creating role; the
-- migrations run as the database owner (postgres on Supabase). EXECUTE for
-- PUBLIC on new functions is PostgreSQL's own global default and stays: taking
-- it away from the owner role would also close the functions of every
-- extension that role installs later. Each function here revokes it itself,
-- and the pgTAP suite fails if anon can execute anything in an exposed schema.
do $$
begin
  execute format(
    'alter default privileges for role %I in schema public, private '
    'revoke all on tables from anon, authenticated, service_role', current_user);
  execute format(
    'alter default privileges for role %I in schema public, private '
    'revoke all on sequences from anon, authenticated, service_role', current_user);
  execute format(
    'alter default privileges for role %I in schema public, private '
    'revoke all on functions from anon, authenticated, service_role', current_user);
end
$$;

-- ---------------------------------------------------------------------------
-- Functions. Policies and CHECK constraints run their functions with the
-- privileges of the person making the request, so the roles that read or
-- write through them need EXECUTE. Trigger functions need none (a trigger
-- fires with no EXECUTE check) and stay closed, as does the dispatcher's
-- send-window function.
-- ---------------------------------------------------------------------------
-- RLS helpers (SECURITY DEFINER: each answers for auth.uid() only).
grant execute on function
  private.led_chapter_ids(),
  private.led_organization_ids(),
  private.member_chapter_ids(),
  private.member_organization_ids(),
  private.peer_mentor_chapter_ids(),
  private.followed_mentor_ids(),
  private.followed_certification_ids()
to authenticated, service_role;

-- Pure validators behind CHECK constraints (re-checked on every write of the
-- row, so also when a person marks a notification read).
grant execute on function
  private.is_valid_timezone(text),
  private.is_valid_expiry_thresholds(integer[]),
  private.is_known_certificate_type(text),
  private.is_valid_renewal_history(jsonb),
  private.is_day_count(jsonb),
  private.contains_personal_data(jsonb),
  private.text_contains_personal_data(text),
  private.is_national_identity_number(text),
  private.scenario_rule_problem(text, jsonb, jsonb)
to authenticated, service_role;

-- ---------------------------------------------------------------------------
-- authenticated: the app, through row-level security.
-- ---------------------------------------------------------------------------
grant select on
  public.organizations,
  public.chapters,
  public.users,
  public.chapter_memberships,
  public.coordinator_assignments,
  public.peer_mentor_certifications,
  public.certification_expiry_tracking,
  public.notifications,
  public.device_tokens,
  public.push_preferences,
  public.activities,
  public.scenario_rules,
  public.scenario_notifications,
  public.follow_up_notification_log
to authenticated;

-- Your own name and language; the seen/read/archived marks of your inbox.
grant update (display_name, locale) on public.users to authenticated;
grant update (seen_at, read_at, archived_at) on public.notifications to authenticated;

-- Your devices: registered, refreshed and removed by the app. The row's own
-- bookkeeping (created_at) is the database's.
grant insert (id, user_id, platform, provider, token, last_refreshed_at)
  on public.device_tokens to authenticated;
grant update (platform, provider, token, last_refreshed_at)
  on public.device_tokens to authenticated;
grant delete on public.device_tokens to authenticated;

-- Your push choices.
grant insert (user_id, muted_categories, window_start, window_end)
  on public.push_preferences to authenticated;
grant update (muted_categories, window_start, window_end, updated_at)
  on public.push_preferences to authenticated;
grant delete on public.push_preferences to authenticated;

-- Your activities: when it was registered (created_at) is the database's
-- clock, never the client's, so the occurred-at check cannot be stepped round.
grant insert (id, organization_id, chapter_id, peer_mentor_id, activity_type, occurred_at)
  on public.activities to authenticated;

-- ---------------------------------------------------------------------------
-- The public mentor listing: who is listed, in which chapter, under which
-- name. No certificate date: an anonymous visitor has no reason to learn when
-- a named volunteer's certificate lapses, and a coordinator reads the
-- certificates of their own mentors from peer_mentor_certifications.
-- ---------------------------------------------------------------------------
grant select (id, organization_id, chapter_id, peer_mentor_id, display_name)
  on public.mentor_directory to anon, authenticated;

-- ---------------------------------------------------------------------------
-- service_role: trusted server-side code on the Data API (bypasses RLS).
-- ---------------------------------------------------------------------------
grant select, insert, update, delete on all tables in schema public to service_role;

-- ---------------------------------------------------------------------------
-- Activities: only a peer mentor registers activities, only their own, only
-- in a chapter where they are a peer mentor, and never dated after now.
-- ---------------------------------------------------------------------------
drop policy if exists activities_insert_own on public.activities;
create policy activities_insert_own on public.activities
  for insert to authenticated
  with check (
    peer_mentor_id = (select auth.uid())
    and chapter_id = any ((select private.peer_mentor_chapter_ids())::uuid[])
    and occurred_at <= (select now())
  );
comment on policy activities_insert_own on public.activities is
  'A peer mentor registers their own activities, in a chapter where they are a peer mentor, dated no later than now.';
