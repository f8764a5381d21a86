-- Privacy guard: notification metadata carries ids, codes and counts, never a
-- national identity number, an e-mail address or a phone number. The Python
-- layer refuses such values with a message naming the field
-- (mentor_notify.privacy); these functions and CHECK constraints make the
-- database refuse them too, whoever writes. The rules match the Python ones
-- exactly (the module docstring of mentor_notify/privacy/guard.py explains
-- them); digits touching letters, digits or hyphens (UUIDs, ISO dates,
-- hashes) are never candidates.

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

alter table public.scenario_notifications
  drop constraint if exists scenario_notifications_metadata_privacy_check;
alter table public.scenario_notifications
  add constraint scenario_notifications_metadata_privacy_check
  check (metadata is null or not private.contains_personal_data(metadata));
comment on constraint scenario_notifications_metadata_privacy_check on public.scenario_notifications is
  'metadata may hold ids, codes and counts only, never a national identity number, an e-mail address or a phone number';

alter table public.notifications
  drop constraint if exists notifications_data_privacy_check;
alter table public.notifications
  add constraint notifications_data_privacy_check
  check (not private.contains_personal_data(data));
comment on constraint notifications_data_privacy_check on public.notifications is
  'data may hold ids, codes and counts only, never a national identity number, an e-mail address or a phone number';
