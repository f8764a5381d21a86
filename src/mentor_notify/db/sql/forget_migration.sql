-- A migration no longer applied: rolled back, or retired by the squashed
-- baseline that replaced it (see migrations.py).
delete from supabase_migrations.schema_migrations
where version = %s
