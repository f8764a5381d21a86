-- Stage "decide" of the claim statement: writes what the stages before it
-- decided onto each notice, and decides nothing itself: the carrier leased to
-- this dispatcher (in flight, its body fixed), the notices folded into it,
-- those held (with the time they are due again: the window's opening, or the
-- next local day's), skipped, dead, or without a device.
decided as (
  select j.id, j.notification_id, j.recipient_id,
         case
           when j.verdict = 'go' and g.verdict = 'push' then
             case when p.carrier_id = j.id then 'claimed' else 'folded' end
           when j.verdict = 'go' then g.verdict
           when j.verdict = 'resend' then 'claimed'
           else j.verdict
         end as decision,
         case
           when j.verdict = 'go' and g.verdict = 'push' and p.carrier_id <> j.id then p.carrier_id
         end as carried_by,
         case
           when j.verdict = 'go' and g.verdict = 'push' and p.carrier_id = j.id
             then coalesce(dg.body, j.payload)
         end as first_body,
         case
           when j.verdict = 'held' then private.push_send_time(%(now)s, j.timezone, j.opens, j.closes)
           -- The next local day's window.
           when j.verdict = 'go' and g.verdict = 'budget_held' then private.push_send_time(
             ((j.today + 1)::timestamp at time zone j.timezone), j.timezone, j.opens, j.closes)
         end as wait_until,
         case when not g.after_hours then j.today end as budget_day,
         j.reached, j.tried
  from judged j
  left join group_verdicts g
    on j.verdict = 'go' and g.recipient_id = j.recipient_id and g.organization_id = j.organization_id
  left join pushed p on p.id = j.id
  left join digests dg on dg.carrier_id = j.id
),
moved as (
  update public.push_notices n
  set status = case d.decision
                 when 'claimed' then 'in_flight'
                 when 'folded' then 'folded'
                 when 'held' then 'pending'
                 when 'budget_held' then 'pending'
                 when 'skipped' then 'skipped'
                 when 'dead' then 'dead'
                 when 'no_device' then case when d.reached then 'sent'
                                            when d.tried then 'failed'
                                            else 'skipped' end
               end,
      available_at = coalesce(d.wait_until, n.available_at),
      leased_until = case when d.decision = 'claimed' then %(now)s + %(lease)s end,
      leased_by = case when d.decision = 'claimed' then %(worker)s end,
      attempts = n.attempts + case when d.decision = 'claimed' then 1 else 0 end,
      carried_by = d.carried_by,
      sent_payload = coalesce(n.sent_payload, d.first_body),
      budget_day = case when d.decision = 'claimed' then coalesce(n.budget_day, d.budget_day) end,
      last_error = case d.decision
                     when 'dead' then coalesce(n.last_error, 'LEASE_EXPIRED')
                     when 'no_device' then case when d.reached then n.last_error else 'NO_DEVICE' end
                     when 'skipped' then null
                     else n.last_error
                   end,
      settled_at = case when d.decision in ('skipped', 'dead', 'no_device') then %(now)s end
  from decided d
  where n.id = d.id and d.decision <> 'undecided'
  returning n.id, n.organization_id, n.notification_id, n.recipient_id, n.status, n.sent_payload,
            n.collapse_key, n.attempts, n.last_error, d.decision
)
