-- Whether one migration is applied, asked under the migrations lock just
-- before applying or rolling it back, so no file runs twice.
select exists (select from supabase_migrations.schema_migrations where version = %s)
