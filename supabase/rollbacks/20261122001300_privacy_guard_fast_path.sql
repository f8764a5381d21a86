-- Rollback of 20261122001300_privacy_guard_fast_path: back to always walking
-- every key and value (the 20261122001100 definition).
create or replace function private.contains_personal_data(value jsonb)
returns boolean
language sql
immutable
strict
set search_path = ''
as $$
  select exists (
    select 1
    from (
      select item #>> '{}' as text
      from jsonb_path_query(value, 'lax $.** ? (@.type() == "string" || @.type() == "number")') as item
      union all
      select key #>> '{}'
      from jsonb_path_query(value, 'lax $.** ? (@.type() == "object").keyvalue().key') as key
    ) as texts
    where private.text_contains_personal_data(texts.text)
  )
$$;
comment on function private.contains_personal_data(jsonb) is
  'True when any key, string or number anywhere in a JSON value holds personal data (see private.text_contains_personal_data).';
