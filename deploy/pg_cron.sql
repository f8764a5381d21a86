-- The alternative to the worker: let the database schedule the jobs with
-- pg_cron, calling the API (`mentor-notify serve`) through pg_net. Run it in the
-- Supabase SQL editor after enabling the pg_cron and pg_net extensions and
-- storing the API's address and its secret keys in Vault:
--
--   select vault.create_secret('https://notify.example.org', 'mentor_notify_api_url');
--   select vault.create_secret('<API key>', 'mentor_notify_api_key');
--
-- `serve` reads the same secret with MENTOR_NOTIFY_API_KEYS_VAULT_SECRET=mentor_notify_api_key.
-- It may hold several keys, comma- or newline-separated; the jobs send the first.
-- To rotate: put the new key first (both are accepted), restart `serve`, then drop
-- the old one. (The project's JWT-based service-role key is not used: Supabase
-- retires it by the end of 2026.)
--
-- pg_cron runs in UTC. The sweep takes each organisation's own local date, so
-- an hourly run at :05 reaches every timezone soon after its midnight; the
-- runs in between find nothing new (a re-run over 1,000,000 certificates takes
-- about 1.5 s). Each job is idempotent, so an overlap or a retry is harmless.
-- Undo with: select cron.unschedule('mentor-notify-expiry'); and so on.

create or replace function private.mentor_notify_call(path text)
returns bigint
language sql
security definer
set search_path = ''
as $$
  select net.http_post(
    url := (select decrypted_secret from vault.decrypted_secrets
            where name = 'mentor_notify_api_url') || path,
    headers := jsonb_build_object(
      'Content-Type', 'application/json',
      'apikey', (select btrim(split_part(replace(decrypted_secret, E'\n', ','), ',', 1))
                 from vault.decrypted_secrets where name = 'mentor_notify_api_key')),
    body := '{}'::jsonb,
    timeout_milliseconds := 300000
  );
$$;
revoke all on function private.mentor_notify_call(text) from public, anon, authenticated;
comment on function private.mentor_notify_call(text) is
  'Calls one endpoint of the mentor-notify API with its first API key from Vault (pg_cron jobs only).';

select cron.schedule('mentor-notify-expiry', '5 * * * *',
  $$ select private.mentor_notify_call('/functions/v1/certificate-expiry') $$);
select cron.schedule('mentor-notify-scenarios', '15 * * * *',
  $$ select private.mentor_notify_call('/functions/v1/scenario-evaluation') $$);
-- Pushes come due all day (send windows open at 08:00, retries back off).
select cron.schedule('mentor-notify-dispatch', '* * * * *',
  $$ select private.mentor_notify_call('/functions/v1/dispatch') $$);
