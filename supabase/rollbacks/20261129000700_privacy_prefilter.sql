-- Rollback of 20261129000700_privacy_prefilter: the JSON check as
-- 20261129000020_privacy_guard defined it, without the prefilter (same
-- answers, slower). Idempotent.
create or replace function private.contains_personal_data(value jsonb)
returns boolean
language plpgsql
immutable
strict
set search_path = ''
as $$
declare
  doc text := value::text;
begin
  if pg_catalog.strpos(doc, '\') = 0 and not private.text_contains_personal_data(doc) then
    return false;
  end if;
  return exists (
    select 1
    from (
      select item #>> '{}' as text
      from jsonb_path_query(value, 'lax $.** ? (@.type() == "string" || @.type() == "number")') as item
      union all
      select key #>> '{}'
      from jsonb_path_query(value, 'lax $.** ? (@.type() == "object").keyvalue().key') as key
    ) as texts
    where private.text_contains_personal_data(texts.text)
  );
end
$$;
comment on function private.contains_personal_data(jsonb) is
  'True when any key, string or number anywhere in a JSON value holds personal data (see private.text_contains_personal_data); checks the whole text first and walks the values only when that is inconclusive.';
