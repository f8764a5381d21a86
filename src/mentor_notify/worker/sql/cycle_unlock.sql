-- Release the organisation's cycle claim taken by try_cycle_lock.sql once the
-- cycle has finished (or failed), so the next due check may take it.
select pg_advisory_unlock(%(class)s, hashtext(%(key)s))
