-- Autovacuum never analyses temporary tables: without statistics the planner
-- guesses the activity totals' size and picks poor joins for the hit queries.
analyze mentor_activity
