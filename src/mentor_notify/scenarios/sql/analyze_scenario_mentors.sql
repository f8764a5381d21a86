-- Statistics for the mentors a scenario is evaluated for (a temporary table,
-- which autovacuum never analyses), so the hit query joins them sensibly.
analyze scenario_mentors
