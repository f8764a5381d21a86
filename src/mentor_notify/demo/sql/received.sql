-- What each person holds in their inbox, one row per notification, with the
-- fate of its pushes; the demo compares two readings to show what one cycle
-- added. Names are the seed's fictional personas, shown on the demo's terminal
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
       count(p.id) filter (where p.status = 'sent')::integer as pushes_sent,
       count(p.id) filter (where p.status in ('pending', 'in_flight'))::integer as pushes_waiting,
       count(p.id) filter (where p.status in ('failed', 'dead', 'skipped'))::integer as pushes_not_sent
from public.notifications n
join public.organizations o on o.id = n.organization_id
join public.users r on r.id = n.recipient_id
join public.users s on s.id = n.subject_mentor_id
left join public.push_outbox p on p.notification_id = n.id
group by n.id, o.slug, r.display_name, s.display_name
order by o.slug, r.display_name, n.message_key, s.display_name
