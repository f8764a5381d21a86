-- Rollback of 20261207200200_budget_days: the ledger's primary key leads with
-- the person again, and its foreign keys to users and organizations (with
-- the organisation index) come back. Rows of people or organisations that no
-- longer exist are deleted first, or the keys could not be added. Idempotent.
delete from public.push_budget_days b
where not exists (select 1 from public.users u where u.id = b.recipient_id)
   or not exists (select 1 from public.organizations o where o.id = b.organization_id);
alter table public.push_budget_days drop constraint if exists push_budget_days_pkey;
alter table public.push_budget_days
  add constraint push_budget_days_pkey primary key (recipient_id, organization_id, local_day);
alter table public.push_budget_days drop constraint if exists push_budget_days_recipient_id_fkey;
alter table public.push_budget_days add constraint push_budget_days_recipient_id_fkey
  foreign key (recipient_id) references public.users (id) on delete cascade;
alter table public.push_budget_days drop constraint if exists push_budget_days_organization_id_fkey;
alter table public.push_budget_days add constraint push_budget_days_organization_id_fkey
  foreign key (organization_id) references public.organizations (id) on delete cascade;
create index if not exists push_budget_days_organization_id_idx on public.push_budget_days (organization_id);
