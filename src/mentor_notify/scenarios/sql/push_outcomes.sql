-- The scenarios' reaction to settled pushes: for each notification the push
-- queue says it settled (%(ids)s), and with %(catch_up)s for every scenario
-- notification still pending whose notification has settled (what a
-- dispatcher stopped between its settle and this reaction left undone, on
-- the partial index of pending scenario notifications), read what became of
-- its push and record it on the scenario side (private.record_scenario_outcomes): the scenario
-- notification's delivery status, the cooldown released when the push
-- failed, the coordinators' follow-up log once per channel. Notifications
-- that are no scenario's, or not settled, are passed over; recording again
-- changes nothing, so a repeat is harmless.
--
-- What is read: the notification's status (sent, failed, skipped), the
-- carrier's last error, and the channels: those that took the push when it
-- was sent, else those it was tried on, else (settled without a send) the
-- recipient's devices' services.
select private.record_scenario_outcomes(coalesce(jsonb_agg(jsonb_build_object(
         'notification_id', n.id,
         'outcome', n.status,
         'channels', coalesce(
           (select array_agg(distinct x.provider) from public.push_deliveries x
            where x.notice_id = c.id and (n.status <> 'sent' or x.status = 'sent')),
           (select array_agg(distinct d.provider) from public.device_tokens d
            where d.user_id = n.recipient_id),
           '{}'),
         'failure_reason', c.last_error)), '[]'), %(now)s) as changed
from public.notifications n
join public.push_notices p on p.notification_id = n.id
join public.push_notices c on c.id = coalesce(p.carried_by, p.id)
where n.id in (
    select unnest(%(ids)s::uuid[])
    union
    select m.id
    from public.scenario_notifications s
    join public.notifications m on m.scenario_notification_id = s.id
    where %(catch_up)s and s.delivery_status = 'pending'
  )
  and n.scenario_notification_id is not null
  and n.status in ('sent', 'failed', 'skipped')
