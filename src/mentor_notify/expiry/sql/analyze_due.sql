-- Statistics for the slice's due certificates (a temporary table, which
-- autovacuum never analyses), so the recipient query joins them sensibly.
analyze expiry_due
