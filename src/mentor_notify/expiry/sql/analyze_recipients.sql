-- Statistics for the resolved recipients (a temporary table, which autovacuum
-- never analyses), so the write joins them sensibly.
analyze expiry_recipients
