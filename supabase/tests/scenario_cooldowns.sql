-- Issue 4: cooldowns enforced by the database, milestones once ever.
begin;
set local client_min_messages = warning;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

\ir fixtures/world.psql

select plan(10);

-- A notification with a 7-day cooldown, three days ago.
insert into scenario_notifications (user_id, organization_id, scenario_type, triggered_at, delivery_status, cooldown_until)
values (:MAB, :O1, 'inactivity', now() - interval '3 days', 'sent', now() + interval '4 days');

insert into scenario_notifications (user_id, organization_id, scenario_type, triggered_at, cooldown_until)
values (:MAB, :O1, 'inactivity', now(), now() + interval '7 days');
select is((select count(*)::int from scenario_notifications where user_id = :MAB and scenario_type = 'inactivity'), 1,
          'a notification inside the cooldown of an earlier one is not inserted');

insert into scenario_notifications (user_id, organization_id, scenario_type, triggered_at, cooldown_until)
values (:MAB, :O1, 'welcome_back', now(), now() + interval '7 days');
select is((select count(*)::int from scenario_notifications where user_id = :MAB and scenario_type = 'welcome_back'), 1,
          'another scenario for the same person is not held back');

insert into scenario_notifications (user_id, organization_id, scenario_type, triggered_at, cooldown_until)
values (:MAB, :O1, 'inactivity', now() + interval '4 days', now() + interval '11 days');
select is((select count(*)::int from scenario_notifications where user_id = :MAB and scenario_type = 'inactivity'), 2,
          'once the cooldown has ended the next notification goes in');

insert into scenario_notifications (user_id, organization_id, scenario_type, triggered_at)
values (:MAB, :O1, 'inactivity', now() + interval '5 days');
select is((select count(*)::int from scenario_notifications where user_id = :MAB and scenario_type = 'inactivity'), 3,
          'a notification recorded without a cooldown is never held back');

-- A failed delivery reached nobody: it starts no cooldown.
insert into scenario_notifications (user_id, organization_id, scenario_type, triggered_at, delivery_status, cooldown_until)
values (:MC, :O2, 'inactivity', now() - interval '1 day', 'failed', now() + interval '6 days');
insert into scenario_notifications (user_id, organization_id, scenario_type, triggered_at, cooldown_until)
values (:MC, :O2, 'inactivity', now(), now() + interval '7 days');
select is((select count(*)::int from scenario_notifications where user_id = :MC and scenario_type = 'inactivity' and delivery_status <> 'failed'), 1,
          'a failed notification does not hold back the next one');

-- A notification that turns out to have failed releases its cooldown: the
-- push's settle statement records it through private.record_scenario_outcomes
-- (no trigger does it).
insert into scenario_notifications (id, user_id, organization_id, scenario_type, triggered_at, cooldown_until)
values ('80000000-0000-4000-8000-0000000000c1', :MAC, :O2, 'welcome_back', now() - interval '1 day', now() + interval '29 days');
insert into notifications (id, organization_id, recipient_id, subject_mentor_id, category, message_key,
                           idempotency_key, scenario_notification_id)
values ('20000000-0000-4000-8000-0000000000c1', :O2, :MAC, :MAC, 'welcome_back', 'scenario.welcome_back',
        encode(sha256('cooldown-c1'::bytea), 'hex'), '80000000-0000-4000-8000-0000000000c1');
select private.record_scenario_outcomes(
  '[{"notification_id": "20000000-0000-4000-8000-0000000000c1", "outcome": "failed", "channels": ["fcm"],
     "failure_reason": "UNREGISTERED"}]', now());
insert into scenario_notifications (user_id, organization_id, scenario_type, triggered_at, cooldown_until)
values (:MAC, :O2, 'welcome_back', now(), now() + interval '30 days');
select is((select count(*)::int from scenario_notifications where user_id = :MAC and scenario_type = 'welcome_back' and delivery_status <> 'failed'), 1,
          'a notification marked failed afterwards releases the cooldown it started');
select is((select cooldown_until from scenario_cooldowns where user_id = :MAC and scenario_type = 'welcome_back'), now() + interval '30 days',
          'scenario_cooldowns holds the cooldown in force');

select throws_ok(
  $$insert into scenario_notifications (user_id, organization_id, scenario_type, milestone_value)
    values ('c0000000-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000001', 'milestone', 10)$$,
  '23505', null, 'a milestone is celebrated once per person and organisation, ever'
);
select lives_ok(
  $$insert into scenario_notifications (user_id, organization_id, scenario_type, milestone_value)
    values ('c0000000-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000001', 'milestone', 25)$$,
  'the next milestone value is a new milestone'
);
select throws_ok(
  $$insert into scenario_notifications (user_id, organization_id, scenario_type, triggered_at, cooldown_until)
    values ('c0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 'welcome_back', now(), now() - interval '1 day')$$,
  '23514', null, 'a cooldown cannot end before the notification that starts it'
);

select * from finish();
rollback;
