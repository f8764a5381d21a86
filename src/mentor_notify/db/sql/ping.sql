-- Liveness: the database accepts a connection and answers a query (health
-- checks and readiness; touches no table, so it holds no lock).
select 1
