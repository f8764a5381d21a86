-- The privacy CHECK on notifications.data runs for every row the expiry sweep
-- writes (hundreds of thousands on a large first run), and walking every key
-- and value with jsonb_path_query costs far more than the rest of the insert.
-- Fast path: every key, string and number of a JSON value appears verbatim in
-- its text form, delimited by JSON punctuation (quotes, colons, commas,
-- brackets, spaces), never by a letter, digit, hyphen or plus sign, which are
-- the only characters the patterns' boundaries look at. So when the text as a
-- whole holds nothing that looks like personal data, no single value does
-- either, and the walk is skipped. Text with a backslash (an escaped
-- character, which is not verbatim) and text that does look suspicious take
-- the exact walk, which decides.
-- PL/pgSQL rather than SQL: its plans are cached for the session, where the
-- SQL form set up the walk's subquery on every call, costing more than the
-- check itself.
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
