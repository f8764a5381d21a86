-- The certificate sync's order (issue 24), in the one function that decides it:
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

select plan(7);

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

select is(private.apply_certificate_sync_event(900001, now()), 'applied', 'the first change of a second is applied');
select is(private.apply_certificate_sync_event(900002, now()), 'applied',
  'a second change in the same second, arriving later, is applied too (arrival breaks the tie)');
select is((select expiry_date from public.peer_mentor_certifications where id = 'f0000000-0000-4000-8000-000000000002'),
  current_date + 400, 'so the later one is the state');
select is(private.apply_certificate_sync_event(900003, now()), 'applied', 'version 11 is applied');
select is(private.apply_certificate_sync_event(900004, now()), 'superseded',
  'version 10 of the same second, arriving after 11, is superseded');
select is(private.apply_certificate_sync_event(900005, now()), 'applied',
  'the deletion of version 11 comes after the update that made 11');

select throws_ok(
  $$insert into public.certificate_sync_events (organization_id, source, source_event_id, event_type,
      external_person_id, external_certificate_id, revoked_on, source_modified_at, body_sha256)
    values ('a0000000-0000-4000-8000-000000000001', 'v1', 'pii', 'revoked', 'kari.nordmann@example.org',
      'c', current_date, now(), encode(sha256('pii'::bytea), 'hex'))$$,
  '23514', null, 'the inbox refuses an e-mail address as an external person id'
);

select * from finish();
rollback;
