-- The migrations the history records as applied, oldest first, for `db status`
-- and the rollback targets.
select version, coalesce(name, '')
from supabase_migrations.schema_migrations
order by version
