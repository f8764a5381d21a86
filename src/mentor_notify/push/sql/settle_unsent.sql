-- Stage "settle_unsent" of the claim statement: settles what the policy gave
-- up on without a send (skipped, dead, no device), with the notices folded
-- into such a carrier and the notifications of both, as the settle statement
-- (settle.sql) does for pushes sent. The statement returns the notifications
-- settled; other packages react to them (the scenarios' bookkeeping,
-- scenarios/sql/push_outcomes.sql), the push statements write none of their
-- tables.
-- A carrier given up on here (dead, or no device left) settles the notices
-- folded into it.
settled_folded as (
  update public.push_notices f
  set settled_at = %(now)s
  from moved m
  where f.carried_by = m.id and f.status = 'folded' and f.settled_at is null
    and m.decision in ('dead', 'no_device')
  returning f.id, f.notification_id, m.id as carrier_id, m.status as carrier_status, m.last_error
),
finished as (
  select m.id as carrier_id, m.notification_id, m.recipient_id, m.status, m.last_error
  from moved m
  where m.decision in ('skipped', 'dead', 'no_device')
  union all
  select f.carrier_id, f.notification_id, m.recipient_id, f.carrier_status, f.last_error
  from settled_folded f
  join moved m on m.id = f.carrier_id
),
notified as (
  update public.notifications n
  set status = case f.status when 'sent' then 'sent' when 'skipped' then 'skipped' else 'failed' end,
      status_changed_at = %(now)s
  from finished f
  where n.id = f.notification_id
    and n.status is distinct from
        (case f.status when 'sent' then 'sent' when 'skipped' then 'skipped' else 'failed' end)
  returning 1
)
