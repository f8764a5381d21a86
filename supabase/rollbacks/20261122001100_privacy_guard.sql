-- Rollback of 20261122001100_privacy_guard: removes the personal-data CHECKs
-- and the functions behind them.
alter table public.notifications drop constraint if exists notifications_data_privacy_check;
alter table public.scenario_notifications drop constraint if exists scenario_notifications_metadata_privacy_check;
drop function if exists private.contains_personal_data(jsonb);
drop function if exists private.text_contains_personal_data(text);
drop function if exists private.is_national_identity_number(text);
