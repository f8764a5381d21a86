-- The lock the expiry sweep's directory step takes for the organisation, so
-- the sync's listing refresh and the sweep's never interleave (deadlock).
select pg_advisory_xact_lock(%(lock_class)s, hashtext(%(lock_key)s))
