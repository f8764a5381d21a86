-- Serialises sweeps of one organisation slice: a transaction-scoped advisory
-- lock (class EXPIRY_LOCK_CLASS, key a hash of organisation and slice), so
-- copies of the job started together queue up and each later one finds the
-- earlier one's notices already committed.
select pg_advisory_xact_lock(%(lock_class)s, hashtext(%(lock_key)s))
