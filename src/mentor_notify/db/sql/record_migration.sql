-- Record an applied migration the way the Supabase CLI does: its version, its
-- name and its text (the whole file as one statement); also how a database
-- that ran the retired history adopts the squashed baseline.
insert into supabase_migrations.schema_migrations (version, name, statements)
values (%s, %s, %s)
