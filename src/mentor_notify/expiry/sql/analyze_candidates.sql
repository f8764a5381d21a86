-- Statistics for the due certificates (a temporary table, which autovacuum
-- never analyses), so the recipient and batch queries join them sensibly.
analyze expiry_candidates
