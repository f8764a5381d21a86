-- Database time per pushed message (issue 25, third pass). The current
-- definitions are in supabase/schemas/04_notifications_and_push.sql and
-- 08_rule_functions.sql; the baseline carries the three functions' new text
-- too, so applying it again does not undo this migration. Idempotent.
--
-- The claim asks the send-window rule (private.push_send_time), the
-- organisation's date (private.local_date) and the urgency order
-- (private.push_urgency) for every notice it takes. With a SET clause a SQL
-- function is never inlined: each call went through the function manager,
-- four calls a notice; inlined, the claim's server CPU went from 161 to 126 us
-- a message (measured 2026-12-07, BENCHMARKS.md, issue 25's third pass). So,
-- like the expiry notice's rule functions (migration 20261206000200 says why
-- that is safe), they have no SET clause, are plain SQL, not SECURITY
-- DEFINER, and each operator has an exact match in pg_catalog (searched
-- first); push_send_time is one expression (a FROM clause also stops
-- inlining). supabase/tests/00_schema_shape.sql lists them with the others.
set local lock_timeout = '5s';
set local statement_timeout = '1min';

-- When a push may go out: `at` itself inside the window, else the window's
-- next opening. Local times are read in `tz`, so DST is handled by PostgreSQL.
create or replace function private.push_send_time(at timestamptz, tz text, opens time, closes time)
returns timestamptz
language sql
stable
parallel safe
as $$
  -- One expression (no FROM, no SET clause) so that it is inlined into the
  -- claim, which asks it for every notice (migration 20261207100100).
  select case
    when opens = closes then at
    when (opens < closes and (at at time zone tz)::time >= opens and (at at time zone tz)::time < closes)
      or (opens > closes and ((at at time zone tz)::time >= opens or (at at time zone tz)::time < closes))
      then at
    when (at at time zone tz)::time < opens then ((at at time zone tz)::date + opens) at time zone tz
    else (((at at time zone tz)::date + 1) + opens) at time zone tz
  end
$$;

-- The one urgency order of a push's notices (see 04_notifications_and_push.sql).
create or replace function private.push_urgency(payload jsonb)
returns integer
language sql
immutable
parallel safe
as $$
  select case payload -> 'data'::text ->> 'tier'::text
           when 'expired'::text then 60
           when 'expiry_warning_7d'::text then 50
           when 'expiry_warning_30d'::text then 40
           when 'expiry_warning_60d'::text then 30
           when 'expiry_warning_90d'::text then 20
           else 10
         end
         + case when payload ->> 'priority'::text = 'high'::text then 1 else 0 end
$$;

create or replace function private.local_date(instant timestamptz, timezone text)
returns date
language sql
immutable
parallel safe
as $$
  -- Certificates expire by the organisation's own calendar, not UTC's.
  select (instant at time zone timezone)::date
$$;
