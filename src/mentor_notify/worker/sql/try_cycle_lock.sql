-- Claim one organisation's daily cycle for this worker without waiting: a
-- session advisory lock, so that two workers never run the same
-- organisation's cycle at once (the other one looks again on its next check).
select pg_try_advisory_lock(%(class)s, hashtext(%(key)s)) as locked
