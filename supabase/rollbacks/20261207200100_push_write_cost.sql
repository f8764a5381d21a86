-- Rollback of 20261207200100_push_write_cost: push_notices' bodies are plain
-- jsonb with their CHECKs again, and the domain goes; the organisation and
-- person foreign keys of push_notices and push_deliveries, and their indexes,
-- come back; push_deliveries fills its pages again.
-- Idempotent.
alter table public.push_notices
  alter column payload type jsonb using payload::jsonb,
  alter column sent_payload type jsonb using sent_payload::jsonb;
drop domain if exists private.push_body;
alter table public.push_notices drop constraint if exists push_notices_payload_check;
alter table public.push_notices add constraint push_notices_payload_check
  check (jsonb_typeof(payload) = 'object' and octet_length(payload::text) <= 4096);
comment on constraint push_notices_payload_check on public.push_notices is 'the payload must be a JSON object of at most 4 KiB';
alter table public.push_notices drop constraint if exists push_notices_sent_payload_check;
alter table public.push_notices add constraint push_notices_sent_payload_check check (
  sent_payload is null
  or jsonb_typeof(sent_payload) = 'object' and octet_length(sent_payload::text) <= 4096
     and not private.contains_personal_data(sent_payload)
);
comment on constraint push_notices_sent_payload_check on public.push_notices is
  'the sent payload must be a JSON object of at most 4 KiB holding ids, keys and counts only, never personal data';

alter table public.push_notices drop constraint if exists push_notices_organization_id_fkey;
alter table public.push_notices add constraint push_notices_organization_id_fkey
  foreign key (organization_id) references public.organizations (id) on delete cascade;
alter table public.push_notices drop constraint if exists push_notices_recipient_id_fkey;
alter table public.push_notices add constraint push_notices_recipient_id_fkey
  foreign key (recipient_id) references public.users (id) on delete cascade;
create index if not exists push_notices_recipient_id_idx on public.push_notices (recipient_id);
comment on index public.push_notices_recipient_id_idx is
  'Serves the foreign key to users (deleting a person).';
create index if not exists push_notices_organization_id_idx on public.push_notices (organization_id);

alter table public.push_deliveries drop constraint if exists push_deliveries_organization_id_fkey;
alter table public.push_deliveries add constraint push_deliveries_organization_id_fkey
  foreign key (organization_id) references public.organizations (id) on delete cascade;
create index if not exists push_deliveries_organization_id_idx on public.push_deliveries (organization_id);

alter table public.push_deliveries reset (fillfactor);
