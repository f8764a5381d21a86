-- The privacy guard: notification metadata carries ids, codes
-- and counts, never a national identity number, an e-mail address or a phone
-- number. The Python layer refuses such values with a message naming the
-- field (mentor_notify.privacy); these functions and the CHECK constraints
-- that call them (on notifications.data and scenario_notifications.metadata)
-- make the database refuse them too, whoever writes. The rules match the
-- Python ones exactly (the module docstring of mentor_notify/privacy/guard.py
-- explains them); digits touching letters, digits or hyphens (UUIDs, ISO
-- dates, hashes) are never candidates.

create or replace function private.is_national_identity_number(digits text)
returns boolean
language plpgsql
immutable
strict
set search_path = ''
as $$
declare
  d int[];
  day int;
  month int;
begin
  if digits !~ '^[0-9]{11}$' then
    return false;
  end if;
  d := array(select substr(digits, i, 1)::int from generate_series(1, 11) as i);
  day := d[1] * 10 + d[2];
  month := d[3] * 10 + d[4];
  if day > 40 then day := day - 40; end if;        -- D-number
  if month > 40 then month := month - 40; end if;  -- H-number
  if month not between 1 and 12
     or day not between 1 and (array[31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[month] then
    return false;
  end if;
  -- First control digit: remainder 0 under today's rule, 0-3 for numbers
  -- issued from 2032. Second control digit: remainder 0, unchanged.
  return (3 * d[1] + 7 * d[2] + 6 * d[3] + 1 * d[4] + 8 * d[5] + 9 * d[6] + 4 * d[7] + 5 * d[8] + 2 * d[9] + d[10]) % 11 <= 3
     and (5 * d[1] + 4 * d[2] + 3 * d[3] + 2 * d[4] + 7 * d[5] + 6 * d[6] + 5 * d[7] + 4 * d[8] + 3 * d[9] + 2 * d[10] + d[11]) % 11 = 0;
end
$$;
comment on function private.is_national_identity_number(text) is
  'True for an 11-digit fødselsnummer, D-number or H-number with a possible date and valid check digits (today''s rule or the 2032 rule).';

create or replace function private.text_contains_personal_data(value text)
returns boolean
language sql
immutable
strict
set search_path = ''
as $$
  select exists (
           select 1
           from regexp_matches(value, '(?<![0-9A-Za-z-])([0-9]{6}) ?([0-9]{5})(?![0-9A-Za-z-])', 'g') as m
           where private.is_national_identity_number(m[1] || m[2]))
      or value ~ '[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}'
      or value ~ '(?<![0-9A-Za-z-])(\+|00)47 ?[2-9][0-9]( ?[0-9]){6}(?![0-9A-Za-z-])'
      or value ~ '(?<![0-9A-Za-z-])[2-9][0-9] [0-9]{2} [0-9]{2} [0-9]{2}(?![0-9A-Za-z-])'
      or value ~ '(?<![0-9A-Za-z-])[2-9][0-9]{2} [0-9]{2} [0-9]{3}(?![0-9A-Za-z-])'
      or value ~ '(?<![0-9A-Za-z-])[49][0-9]{7}(?![0-9A-Za-z-])'
      or value ~ '(?<![0-9A-Za-z+])\+[1-9]([ .()-]{0,2}[0-9]){6,14}(?![0-9A-Za-z-])'
$$;
comment on function private.text_contains_personal_data(text) is
  'True when a text holds what looks like a Norwegian identity number, an e-mail address or a phone number.';

-- contains_personal_data runs in the privacy CHECK on notifications.data, so
-- it runs for every row the expiry sweep writes (hundreds of thousands on a
-- large first run), and walking every key and value with jsonb_path_query
-- costs far more than the rest of the insert. Two fast paths, in order:
--
-- 1. A prefilter. Each of text_contains_personal_data's patterns needs
--    something a single regex without look-around finds in one pass: an "@"
--    or a "+" (e-mail addresses, international numbers), or, at a token start
--    (the text's start or a character other than a letter, digit or hyphen:
--    the patterns' own boundary), "0047", two or three digits then a space
--    and a digit (spaced phone numbers), eight digits starting with 4 or 9
--    ending at a token end (mobile numbers), or eleven digits, a space allowed
--    after the sixth, ending at a token end (identity numbers). A document
--    whose text has none of these holds no personal data. The JSON the sweep
--    writes (ids, ISO dates, deep links) almost never passes it. It is
--    written inline: a call to another function per row would cost as much
--    again.
-- 2. The whole text. Every key, string and number of a JSON value appears
--    verbatim in its text form, delimited by JSON punctuation (quotes,
--    colons, commas, brackets, spaces), never by a letter, digit, hyphen or
--    plus sign, which are the only characters the patterns' boundaries look
--    at. So when the text as a whole holds nothing that looks like personal
--    data, no single value does either, and the walk is skipped.
--
-- Text with a backslash (an escaped character, which is not verbatim) and
-- text that does look suspicious take the exact walk, which decides.
-- tests/integration/test_privacy_guard_db.py holds the rules to the Python
-- guard, with the values at every kind of token boundary.
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

-- The CHECK constraints that call these (notifications.data,
-- scenario_notifications.metadata) run with the writer's privileges.
revoke all on function private.is_national_identity_number(text) from public;
revoke all on function private.text_contains_personal_data(text) from public;
revoke all on function private.contains_personal_data(jsonb) from public;
grant execute on function private.is_national_identity_number(text) to authenticated, service_role;
grant execute on function private.text_contains_personal_data(text) to authenticated, service_role;
grant execute on function private.contains_personal_data(jsonb) to authenticated, service_role;
