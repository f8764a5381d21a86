-- Issue 5: push preferences and send windows.
begin;
set local client_min_messages = warning;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

\ir fixtures/world.psql

select plan(12);

-- private.push_send_time: inside the window the time itself, else the next opening.
select is(private.push_send_time('2026-11-23 12:00+00', 'Europe/Oslo', '08:00', '21:00'),
          '2026-11-23 12:00+00'::timestamptz, 'inside the window: send now');
select is(private.push_send_time('2026-11-23 05:00+00', 'Europe/Oslo', '08:00', '21:00'),
          '2026-11-23 07:00+00'::timestamptz, 'before the window: held until 08:00 Oslo (07:00 UTC in winter)');
select is(private.push_send_time('2026-11-23 20:30+00', 'Europe/Oslo', '08:00', '21:00'),
          '2026-11-24 07:00+00'::timestamptz, 'after the window (21:30 Oslo): held until 08:00 the next day');
select is(private.push_send_time('2026-11-23 20:00+00', 'Europe/Oslo', '08:00', '21:00'),
          '2026-11-24 07:00+00'::timestamptz, 'the window end is exclusive');
select is(private.push_send_time('2026-03-29 00:30+00', 'Europe/Oslo', '08:00', '21:00'),
          '2026-03-29 06:00+00'::timestamptz, 'the night summer time begins: 08:00 Oslo is 06:00 UTC');
select is(private.push_send_time('2026-11-23 12:00+00', 'Europe/Oslo', '20:00', '06:00'),
          '2026-11-23 19:00+00'::timestamptz, 'a window spanning midnight opens in the evening');
select is(private.push_send_time('2026-11-23 03:00+00', 'Europe/Oslo', '20:00', '06:00'),
          '2026-11-23 03:00+00'::timestamptz, 'and is open after midnight');
select is(private.push_send_time('2026-11-23 03:00+00', 'Europe/Oslo', '00:00', '00:00'),
          '2026-11-23 03:00+00'::timestamptz, 'equal start and end: no window');

-- What people may store.
select throws_ok($$insert into push_preferences (user_id, muted_categories) values ('c0000000-0000-4000-8000-000000000003', '{birthdays}')$$,
                 '23514', null, 'an unknown category is refused');
select throws_ok($$insert into push_preferences (user_id, window_start) values ('c0000000-0000-4000-8000-000000000003', '09:00')$$,
                 '23514', null, 'a window needs both its ends');
select throws_ok($$update organizations set push_immediate_tiers = '{expiry_warning_14d}'$$,
                 '23514', null, 'only real tiers can be sent at once');
select is(obj_description('public.push_preferences'::regclass, 'pg_class') is not null, true,
          'push_preferences is documented');

select * from finish();
rollback;
