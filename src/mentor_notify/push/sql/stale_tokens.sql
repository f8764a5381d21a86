-- Device tokens the app has not refreshed for %(older_than)s, oldest first:
-- candidates for cleanup (a token the app stopped refreshing is likely dead).
-- Staleness is private.stale_device_cutoff, the data-quality report's rule.
select id, user_id, platform, provider, last_refreshed_at
from public.device_tokens
where last_refreshed_at < (select private.stale_device_cutoff(%(now)s, %(older_than)s))
order by last_refreshed_at, id
