-- Rollback of 20261129000010_organisations_and_people: removes the tenancy
-- tables and the private schema of validators and row-level-security helpers.
-- The API roles' default privileges are left as they are: whether a project
-- grants them is the platform's choice (see the local bootstrap).
drop table if exists public.coordinator_assignments;
drop table if exists public.chapter_memberships;
drop table if exists public.users;
drop table if exists public.chapters;
drop table if exists public.organizations;
drop function if exists private.peer_mentor_chapter_ids();
drop function if exists private.followed_mentor_ids();
drop function if exists private.led_organization_ids();
drop function if exists private.member_organization_ids();
drop function if exists private.member_chapter_ids();
drop function if exists private.led_chapter_ids();
drop function if exists private.is_valid_expiry_thresholds(integer[]);
drop function if exists private.is_valid_timezone(text);
drop function if exists private.is_known_certificate_type(text);
drop schema if exists private;
