-- The privacy guard's JSON check answers most documents with one cheap regex
-- (issue 16, speed of the expiry sweep's first run).
--
-- private.contains_personal_data is the CHECK on notifications.data, so it
-- runs for every notice the expiry sweep writes. Its fast path ran
-- private.text_contains_personal_data over the document's text: seven
-- regular expressions with look-behind and look-ahead, about 10 us a row.
-- Each of those patterns needs something a single regex without look-around
-- finds in one pass: an "@" or a "+" (e-mail addresses, international
-- numbers), or, at a token start (the text's start or a character other than
-- a letter, digit or hyphen: the patterns' own boundary), "0047", two or
-- three digits then a space and a digit (spaced phone numbers), eight digits
-- starting with 4 or 9 ending at a token end (mobile numbers), or eleven
-- digits, a space allowed after the sixth, ending at a token end (identity
-- numbers). A document whose text has none of these holds no personal data,
-- and the check returns false at once, inside this function (a call to
-- another function per row would cost as much again). Anything else takes
-- the exact path as before. The JSON the sweep writes (ids, ISO dates, deep
-- links) almost never passes the prefilter. The rules are unchanged
-- (tests/integration/test_privacy_guard_db.py holds them to the Python guard,
-- with the values at every kind of token boundary).
--
-- Grants unchanged (create or replace keeps them). Idempotent.

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
  -- Text with a backslash (an escaped character, not verbatim) takes the walk.
  if pg_catalog.strpos(doc, '\') = 0 then
    if doc operator(pg_catalog.!~) '[@+]|(^|[^0-9A-Za-z-])([0-9]{6} ?[0-9]{5}([^0-9A-Za-z-]|$)|0047|[0-9]{2,3} [0-9]|[49][0-9]{7}([^0-9A-Za-z-]|$))' then
      return false;
    end if;
    if not private.text_contains_personal_data(doc) then
      return false;
    end if;
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
  'True when any key, string or number anywhere in a JSON value holds personal data (see private.text_contains_personal_data); rules out most documents with one regex that any match needs, then checks the whole text, and walks the values only when that is inconclusive.';
