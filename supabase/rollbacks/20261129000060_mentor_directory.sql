-- Rollback of 20261129000060_mentor_directory: removes the mentor directory
-- and the triggers that keep its certificate dates current.
drop trigger if exists organizations_refresh_directory on public.organizations;
drop trigger if exists peer_mentor_certifications_directory_after_delete on public.peer_mentor_certifications;
drop trigger if exists peer_mentor_certifications_directory_after_update on public.peer_mentor_certifications;
drop trigger if exists peer_mentor_certifications_directory_after_insert on public.peer_mentor_certifications;
drop table if exists public.mentor_directory;
drop function if exists private.organizations_refresh_directory();
drop function if exists private.peer_mentor_certifications_refresh_directory();
drop function if exists private.mentor_directory_before_write();
drop function if exists private.lapse_instant(date, text);
