-- How many mentors the scenario is evaluated for: those whose governing rule
-- (scenario_mentors.sql) is enabled; reported as mentors_evaluated.
select count(*) as n
from scenario_mentors
where enabled
