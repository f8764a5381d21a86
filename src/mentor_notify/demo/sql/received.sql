-- What each person holds in their inbox, one row per notification, with the
-- fate of the push it made (its own, or none when it was folded into another
-- notice's push, a digest); the demo compares two readings to show what one
-- cycle added. Names are the seed's fictional personas, shown on the demo's terminal
-- only (never logged).
select n.id,
       o.slug as organisation,
       r.display_name as recipient,
       case
         when n.recipient_id = n.subject_mentor_id then 'mentor'
         when exists (
           select 1 from public.chapter_memberships m
           where m.user_id = n.recipient_id and m.organization_id = n.organization_id
             and m.role = 'coordinator'
         ) then 'coordinator'
         else 'chapter admin'
       end as role,
       s.display_name as about,
       n.message_key,
       -- Devices the notice's own push reached (none for a folded notice).
       (select count(*) from public.push_deliveries x
        where x.notice_id = p.id and x.status = 'sent')::integer as pushes_sent,
       coalesce((p.status in ('pending', 'in_flight'))::integer, 0) as pushes_waiting,
       -- A person without a device had no push to send (NO_DEVICE).
       coalesce((p.status in ('failed', 'dead', 'skipped')
                 and p.last_error is distinct from 'NO_DEVICE')::integer, 0) as pushes_not_sent,
       coalesce(p.status = 'folded', false) as folded
from public.notifications n
join public.organizations o on o.id = n.organization_id
join public.users r on r.id = n.recipient_id
join public.users s on s.id = n.subject_mentor_id
left join public.push_notices p on p.notification_id = n.id
order by o.slug, r.display_name, n.message_key, s.display_name
