-- Device tokens the app has not refreshed since the cutoff, oldest first:
-- candidates for cleanup (a token the app stopped refreshing is likely dead).
select id, user_id, platform, provider, last_refreshed_at
from public.device_tokens
where last_refreshed_at < %(cutoff)s
order by last_refreshed_at, id
