-- Notices whose retries are exhausted, newest first: ids, codes and dates only.
select id, notification_id, recipient_id, attempts, last_error, created_at
from public.push_notices
where status = 'dead'
order by created_at desc, id
limit %(limit)s
