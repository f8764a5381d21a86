-- One statement records every hit of a scenario: the scenario notification
-- (which the database drops when it falls inside an earlier one's cooldown,
-- or repeats a milestone), then, for those recorded, the in-app notification
-- (pending, pointing to its scenario notification) and its push notice
-- (queued by private.enqueue_push; the mentor's devices are read when it is
-- sent). Rows go in
-- ordered by person, so concurrent runs lock the people's cooldown rows in
-- the same order and cannot deadlock.
with recorded as (
  insert into public.scenario_notifications as s (
    user_id, organization_id, scenario_type, triggered_at, delivery_status, milestone_value,
    metadata, scenario_rule_id, cooldown_until
  )
  select h.user_id, h.organization_id, %(scenario_type)s::text, %(as_of)s, 'pending', h.milestone_value,
         h.metadata, h.rule_id, %(as_of)s + h.cooldown
  from scenario_hits h
  -- A cheap read skips people plainly still cooling down; the trigger stays
  -- the guarantee when another run commits a claim meanwhile.
  where not exists (
    select 1 from public.scenario_cooldowns c
    where c.user_id = h.user_id
      and c.scenario_type = %(scenario_type)s::text
      and c.cooldown_until > %(as_of)s
  )
  order by h.user_id, h.organization_id
  on conflict do nothing
  returning s.id, s.user_id, s.organization_id, s.milestone_value, s.metadata
),
planned as (
  select r.id as scenario_notification_id, r.user_id, r.organization_id, r.milestone_value,
         r.metadata, h.messages,
         case %(scenario_type)s::text
           when 'inactivity' then 'activities/new'
           when 'milestone' then 'activities'
           when 'welcome_back' then 'home'
         end as plain_route,
         private.renewal_link((r.metadata ->> 'certification_id')::uuid,
                              r.metadata ->> 'certificate_type', r.metadata ->> 'tier') as renewal_link
  from recorded r
  join scenario_hits h on h.user_id = r.user_id and h.organization_id = r.organization_id
),
notified as (
  insert into public.notifications as n (
    organization_id, recipient_id, subject_mentor_id, category, message_key, data, status,
    idempotency_key, created_at, scenario_notification_id
  )
  select p.organization_id, p.user_id, p.user_id,
         case %(scenario_type)s::text
           when 'certification_expiry' then 'certification_follow_up' else %(scenario_type)s::text
         end,
         p.messages ->> 'nb',
         jsonb_strip_nulls(jsonb_build_object(
           'message_keys', p.messages,
           'milestone', p.milestone_value,
           'certification_id', p.metadata ->> 'certification_id',
           'tier', p.metadata ->> 'tier',
           'deep_link', coalesce('mentornotify://v1/' || p.plain_route, p.renewal_link)
         )),
         'pending',
         private.idempotency_key('scenario', p.scenario_notification_id::text, p.user_id::text),
         %(now)s, p.scenario_notification_id
  from planned p
  on conflict do nothing
  returning n.id, n.organization_id, n.recipient_id, n.message_key, n.data
),
-- Their pushes, through the queue's one way in (private.enqueue_push), each
-- payload built by the one builder of push payloads (private.push_payload).
queued as (
  select private.enqueue_push(coalesce(jsonb_agg(jsonb_build_object(
           'notification_id', n.id,
           'organization_id', n.organization_id,
           'recipient_id', n.recipient_id,
           -- A nudge is never urgent; its push opens the notification's deep link.
           'payload', private.push_payload(
             %(scenario_type)s::text, n.message_key || '.title', n.message_key || '.body', false,
             n.id, n.data ->> 'deep_link', jsonb_build_object('category', %(scenario_type)s::text)
           ),
           'collapse_key', 'scenario:' || %(scenario_type)s::text
         )), '[]'), %(now)s) as n
  from notified n
)
select (select count(*) from scenario_hits)::integer as hits,
       (select count(*) from recorded)::integer as recorded,
       (select count(*) from notified)::integer as notifications,
       (select n from queued) as pushes,
       -- Notifications per organisation, for the daily cycle's summary.
       (select coalesce(jsonb_object_agg(organization_id, n), '{}')
        from (select organization_id, count(*) as n from notified group by organization_id) per_org)
         as by_organisation
