-- Forget a run's activity totals (mentor_activity.sql): before a run, in case
-- an earlier run on this pooled connection failed before dropping them, and
-- after it, so the next run on the connection starts afresh.
drop table if exists pg_temp.mentor_activity
