-- Whether the database has a migration history yet (a fresh database has
-- none, and then no migration counts as applied).
select to_regclass('supabase_migrations.schema_migrations') is not null
