-- Fresh statistics for the tables a large sweep has just grown (a first run
-- writes hundreds of thousands of notices, log rows and queued pushes). The
-- dispatcher claims right after, and until autovacuum catches up the planner
-- takes a queue of 260,000 due pushes for a few hundred: it then sorts the
-- whole queue on every claim instead of walking its index (0.3 s a claim at a
-- million certificates), and the next sweep's duplicate check hashes every
-- notice. A role that does not own a table gets a warning and the table is
-- skipped: autovacuum then does it a little later.
analyze public.push_notices, public.notifications, public.cert_notification_log
