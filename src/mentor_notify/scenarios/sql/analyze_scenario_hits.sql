-- Statistics for a scenario's hits (a temporary table, never analysed by
-- autovacuum), so deliver_hits.sql joins them to devices sensibly.
analyze scenario_hits
