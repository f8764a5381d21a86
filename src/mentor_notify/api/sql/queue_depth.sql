-- Pushes still to deliver (queued or being sent), for the API's queue-depth
-- gauge: a growing number means the dispatchers are not keeping up.
select count(*) as n
from public.push_notices
where status in ('pending', 'in_flight')
