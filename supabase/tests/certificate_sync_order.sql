-- The certificate sync's order (issue 24), in the one function that decides it
-- (a round of one event here, then a batch in rounds):
-- of two events of a certificate at the same source time without a row version,
-- the later to arrive wins; a row version orders events whatever their arrival;
-- a deletion of version v comes after the update that made v; and the inbox
-- refuses a person id that is personal data.
--
-- Fixture (world.psql): O1's membership system knows MB as hlf-contact-mb, and
-- MB holds an HLF certificate (f...02).

begin;
set local client_min_messages = warning;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

\ir fixtures/world.psql

select plan(15);

create temporary table sent (id bigint, certificate text, version bigint, deletion boolean,
  expiry_in integer, at timestamptz) on commit drop;
insert into sent values
  (900001, 'cert-same-second', null, false, 300, '2026-11-20 10:00:00+00'),
  (900002, 'cert-same-second', null, false, 400, '2026-11-20 10:00:00+00'),
  (900003, 'cert-versioned', 11, false, 500, '2026-11-20 11:00:00+00'),
  (900004, 'cert-versioned', 10, false, 450, '2026-11-20 11:00:00+00'),
  (900005, 'cert-versioned', 11, true, null, '2026-11-20 11:00:00.4+00');
insert into public.certificate_sync_events (id, organization_id, source, source_event_id,
    event_type, external_person_id, external_certificate_id, external_type, expiry_date,
    revoked_on, source_modified_at, source_version, is_deletion, body_sha256)
select s.id, 'a0000000-0000-4000-8000-000000000001', 'dataverse', 'order-' || s.id,
       case when s.deletion then 'revoked' else 'expiry_changed' end, 'hlf-contact-mb',
       s.certificate, '100000000', current_date + s.expiry_in,
       case when s.deletion then current_date end, s.at, s.version, s.deletion,
       encode(sha256(s.id::text::bytea), 'hex')
from sent s;

select is((select outcome from private.apply_certificate_sync_round(array[900001::bigint], now())), 'applied', 'the first change of a second is applied');
select is((select outcome from private.apply_certificate_sync_round(array[900002::bigint], now())), 'applied',
  'a second change in the same second, arriving later, is applied too (arrival breaks the tie)');
select is((select expiry_date from public.peer_mentor_certifications where id = 'f0000000-0000-4000-8000-000000000002'),
  current_date + 400, 'so the later one is the state');
select is((select outcome from private.apply_certificate_sync_round(array[900003::bigint], now())), 'applied', 'version 11 is applied');
select is((select outcome from private.apply_certificate_sync_round(array[900004::bigint], now())), 'superseded',
  'version 10 of the same second, arriving after 11, is superseded');
select is((select outcome from private.apply_certificate_sync_round(array[900005::bigint], now())), 'applied',
  'the deletion of version 11 comes after the update that made 11');

-- A batch is applied in rounds: a round stops before a second event of a source
-- certificate, and before a second event that reaches the same certificate row
-- (cert-x and cert-y are both MB's HLF certificate), so each event sees what the
-- events before it wrote, as one by one would: of these four, 900011 is older
-- than 900010 and superseded, then 900012 and 900013 apply in that order.
insert into sent values
  (900010, 'cert-x', null, false, 100, '2026-11-21 10:00:05+00'),
  (900011, 'cert-x', null, false, 200, '2026-11-21 10:00:04+00'),
  (900012, 'cert-x', null, false, 300, '2026-11-21 10:00:06+00'),
  (900013, 'cert-y', null, false, 410, '2026-11-21 10:00:07+00');
insert into public.certificate_sync_events (id, organization_id, source, source_event_id,
    event_type, external_person_id, external_certificate_id, external_type, expiry_date,
    source_modified_at, body_sha256)
select s.id, 'a0000000-0000-4000-8000-000000000001', 'dataverse', 'order-' || s.id,
       'expiry_changed', 'hlf-contact-mb', s.certificate, '100000000', current_date + s.expiry_in,
       s.at, encode(sha256(s.id::text::bytea), 'hex')
from sent s where s.id >= 900010;

select is((select outcome from private.apply_certificate_sync_round(array[900010::bigint], now())),
  'applied', 'cert-x becomes known at 10:00:05');
select results_eq(
  $$select event_id, outcome from private.apply_certificate_sync_round(array[900011, 900012, 900013]::bigint[], now())
    order by event_id$$,
  $$values (900011::bigint, 'superseded'), (900012, 'deferred'), (900013, 'deferred')$$,
  'a round ends before the second event of a source certificate'
);
select results_eq(
  $$select event_id, outcome from private.apply_certificate_sync_round(array[900012, 900013]::bigint[], now())
    order by event_id$$,
  $$values (900012::bigint, 'applied'), (900013, 'deferred')$$,
  'and before a second event that reaches the same certificate row'
);
select results_eq(
  $$select outcome, events from private.apply_certificate_sync_events('a0000000-0000-4000-8000-000000000001', now(), 100)$$,
  $$values ('applied', 1)$$,
  'the batch applies what the rounds deferred'
);
select is((select expiry_date from public.peer_mentor_certifications where id = 'f0000000-0000-4000-8000-000000000002'),
  current_date + 410, 'so the last event in source order is the state');

-- A failure on one event never costs the others: an Update without a
-- post-image that moves MA's issue date past the known expiry date breaks the
-- certificate table's date check, so the batch is undone and applied again one
-- event at a time; that event is dead with the database's reason, MB's applies.
insert into public.certificate_sync_people (organization_id, external_person_id, user_id) values
  ('a0000000-0000-4000-8000-000000000001', 'hlf-contact-ma', 'c0000000-0000-4000-8000-000000000001');
insert into public.certificate_sync_events (id, organization_id, source, source_event_id,
    event_type, external_person_id, external_certificate_id, external_type, issued_on, expiry_date,
    source_modified_at, body_sha256) values
  (900030, 'a0000000-0000-4000-8000-000000000001', 'dataverse', 'order-900030', 'expiry_changed',
   'hlf-contact-ma', 'cert-ma', '100000000', current_date + 100, null, '2026-11-22 10:00:00+00',
   encode(sha256('900030'::bytea), 'hex')),
  (900031, 'a0000000-0000-4000-8000-000000000001', 'dataverse', 'order-900031', 'expiry_changed',
   'hlf-contact-mb', 'cert-y', '100000000', null, current_date + 600, '2026-11-22 10:00:01+00',
   encode(sha256('900031'::bytea), 'hex'));
select results_eq(
  $$select outcome, events from private.apply_certificate_sync_events('a0000000-0000-4000-8000-000000000001', now(), 100)
    order by outcome$$,
  $$values ('applied', 1), ('dead', 1)$$,
  'an event the certificate table refuses is dead, the rest of its batch applied'
);
select matches((select reason from public.certificate_sync_events where id = 900030),
  '^rejected by the database: .*peer_mentor_certifications_dates_check',
  'with the database''s reason');
select is((select expiry_date from public.peer_mentor_certifications where id = 'f0000000-0000-4000-8000-000000000002'),
  current_date + 600, 'and the event after it in the batch is the state');

select throws_ok(
  $$insert into public.certificate_sync_events (organization_id, source, source_event_id, event_type,
      external_person_id, external_certificate_id, revoked_on, source_modified_at, body_sha256)
    values ('a0000000-0000-4000-8000-000000000001', 'v1', 'pii', 'revoked', 'kari.nordmann@example.org',
      'c', current_date, now(), encode(sha256('pii'::bytea), 'hex'))$$,
  '23514', null, 'the inbox refuses an e-mail address as an external person id'
);

select * from finish();
rollback;
