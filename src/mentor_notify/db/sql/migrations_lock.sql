-- Serialise migrators: every migration, rollback and the bootstrap runs in a
-- transaction that first takes this transaction-level advisory lock, so that
-- several migrators started at once apply each file exactly once.
select pg_advisory_xact_lock(hashtextextended('mentor_notify:migrations', 0))
