-- Register a device for a user, or refresh it: a token already registered
-- (maybe to someone else, after a device changed hands) now belongs to this
-- user and platform; last_refreshed_at never goes backwards.
insert into public.device_tokens (user_id, platform, provider, token, last_refreshed_at)
values (%(user_id)s, %(platform)s, %(provider)s, %(token)s, %(now)s)
on conflict (token) do update
set user_id = excluded.user_id,
    platform = excluded.platform,
    provider = excluded.provider,
    last_refreshed_at = greatest(public.device_tokens.last_refreshed_at, excluded.last_refreshed_at)
returning id, platform, provider, last_refreshed_at
