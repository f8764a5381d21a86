-- Rollback of 20261129000100_explicit_grants: the API roles' privileges as the
-- earlier migrations left them on a database whose default privileges granted
-- everything (Supabase's defaults before 2026-05-30): all on every table, less
-- what those migrations revoked; the validators executable by anyone; the
-- activities policy that admitted any member of the chapter. The API roles'
-- default privileges are left as they are: whether a project grants them is
-- the platform's choice (see the local bootstrap).
drop policy if exists activities_insert_own on public.activities;
create policy activities_insert_own on public.activities
  for insert to authenticated
  with check (peer_mentor_id = (select auth.uid()) and chapter_id = any ((select private.member_chapter_ids())::uuid[]));

drop function if exists private.peer_mentor_chapter_ids();

grant usage on schema private to anon;

grant all on all tables in schema public to anon, authenticated, service_role;
revoke insert, update, delete, truncate on public.users from anon, authenticated;
grant update (display_name, locale) on public.users to authenticated;
revoke insert, update, delete, truncate on public.notifications from anon, authenticated;
grant update (seen_at, read_at, archived_at) on public.notifications to authenticated;
-- Column grants this migration made are part of "all" above, except where a
-- table privilege was revoked again; drop the ones that no longer apply.
revoke select (id, organization_id, chapter_id, peer_mentor_id, display_name)
  on public.mentor_directory from anon, authenticated;
revoke insert (id, organization_id, chapter_id, peer_mentor_id, activity_type, occurred_at)
  on public.activities from authenticated;
revoke insert (id, user_id, platform, provider, token, last_refreshed_at)
  on public.device_tokens from authenticated;
revoke update (platform, provider, token, last_refreshed_at)
  on public.device_tokens from authenticated;
revoke insert (user_id, muted_categories, window_start, window_end)
  on public.push_preferences from authenticated;
revoke update (muted_categories, window_start, window_end, updated_at)
  on public.push_preferences from authenticated;

-- The CHECK validators: executable by anyone again (PostgreSQL's default), no
-- longer granted to the API roles by name.
do $$
declare
  validator regprocedure;
begin
  foreach validator in array array[
    'private.is_valid_timezone(text)',
    'private.is_valid_expiry_thresholds(integer[])',
    'private.is_known_certificate_type(text)',
    'private.is_valid_renewal_history(jsonb)',
    'private.is_day_count(jsonb)',
    'private.contains_personal_data(jsonb)',
    'private.text_contains_personal_data(text)',
    'private.is_national_identity_number(text)',
    'private.scenario_rule_problem(text, jsonb, jsonb)'
  ]::regprocedure[] loop
    execute format('grant execute on function %s to public', validator);
    execute format('revoke execute on function %s from authenticated, service_role', validator);
  end loop;
end
$$;
