-- Rollback of 20261207100100_push_db_time: the send-window rule, the
-- organisation's date and the urgency order pin their search_path again (the
-- baseline's first definitions). Idempotent.
create or replace function private.push_send_time(at timestamptz, tz text, opens time, closes time)
returns timestamptz
language sql
stable
set search_path = ''
as $$
  select case
    when opens = closes then at
    when (opens < closes and l.t >= opens and l.t < closes)
      or (opens > closes and (l.t >= opens or l.t < closes)) then at
    when l.t < opens then (l.d + opens) at time zone tz
    else ((l.d + 1) + opens) at time zone tz
  end
  from (select (at at time zone tz)::time as t, (at at time zone tz)::date as d) l
$$;

create or replace function private.push_urgency(payload jsonb)
returns integer
language sql
immutable
parallel safe
set search_path = ''
as $$
  select case payload -> 'data' ->> 'tier'
           when 'expired' then 60
           when 'expiry_warning_7d' then 50
           when 'expiry_warning_30d' then 40
           when 'expiry_warning_60d' then 30
           when 'expiry_warning_90d' then 20
           else 10
         end
         + case when payload ->> 'priority' = 'high' then 1 else 0 end
$$;

create or replace function private.local_date(instant timestamptz, timezone text)
returns date
language sql
immutable
parallel safe
set search_path = ''
as $$
  -- Certificates expire by the organisation's own calendar, not UTC's.
  select (instant at time zone timezone)::date
$$;
