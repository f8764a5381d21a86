-- Stage "digest" of the claim statement: decides as what a person's push
-- goes. Its carrier is the most urgent notice (private.push_urgency); the
-- others are folded into it, and a push of several then sends a digest: the
-- carrier's title, a count per message key, a link to the list
-- (private.digest_link). Keys and counts only.
-- The notices of each push, the most urgent first: it carries the push.
pushed as (
  select j.id, j.recipient_id, j.organization_id, j.notification_id, j.payload, j.today,
         first_value(j.id) over w as carrier_id,
         count(*) over (partition by j.recipient_id, j.organization_id) as size
  from judged j
  -- IS TRUE keeps the IN a hashed subplan: as a join, the planner (which
  -- takes both sides for a row or two) compared every notice with every
  -- person, quadratic in the claim's size.
  where j.verdict = 'go'
    and ((j.recipient_id, j.organization_id) in (
          select g.recipient_id, g.organization_id from group_verdicts g where g.verdict = 'push'))
        is true
  window w as (partition by j.recipient_id, j.organization_id
               order by private.push_urgency(j.payload) desc, j.created_at, j.id)
),
-- A push of several notices sends a digest: the carrier's title, how many
-- notices of each message key, and the list to open.
digests as (
  select k.carrier_id,
         -- Built by the one builder of push payloads (private.push_payload):
         -- urgent when any notice folded in is.
         private.push_payload(
           c.payload ->> 'category', c.payload ->> 'title_key', 'digest.body', k.high,
           c.notification_id, private.digest_link(k.about_others),
           jsonb_build_object('category', 'digest', 'count', k.size, 'counts', k.counts)
         ) as body
  from (
    select m.carrier_id, sum(m.n)::integer as size, jsonb_object_agg(m.message_key, m.n) as counts,
           bool_and(m.about_others) as about_others, bool_or(m.high) as high
    from (
      select p.carrier_id, n.message_key, count(*) as n,
             bool_and(n.subject_mentor_id <> n.recipient_id) as about_others,
             bool_or(p.payload ->> 'priority' = 'high') as high
      from pushed p
      join public.notifications n on n.id = p.notification_id
      where p.size > 1
      group by p.carrier_id, n.message_key
    ) m
    group by m.carrier_id
  ) k
  join pushed c on c.id = k.carrier_id
)
