-- Statistics for the resolved recipients (a temporary table, which autovacuum
-- never analyses), so the batch query joins them to devices sensibly.
analyze expiry_recipients
