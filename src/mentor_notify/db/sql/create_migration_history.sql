-- The migration history table exactly as the Supabase CLI creates it
-- (pkg/migration/history.go), so `supabase migration list` and `supabase db
-- push` agree with this runner on what is applied. Harmless to repeat.
create schema if not exists supabase_migrations;
create table if not exists supabase_migrations.schema_migrations (version text not null primary key);
alter table supabase_migrations.schema_migrations add column if not exists statements text[];
alter table supabase_migrations.schema_migrations add column if not exists name text;
