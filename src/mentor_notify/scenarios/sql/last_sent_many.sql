-- The latest non-failed notification of one scenario type for each of many
-- people, in one statement: one index probe per person on
-- scenario_notifications_user_id_scenario_type_triggered_at_idx (newest first,
-- stopping at the first row that did not fail). People with none come back
-- with null. A failed delivery does not count: it reached nobody.
select u.user_id,
       (select s.triggered_at
        from public.scenario_notifications s
        where s.user_id = u.user_id
          and s.scenario_type = %(scenario_type)s
          and s.delivery_status <> 'failed'
        order by s.triggered_at desc
        limit 1) as last_sent_at
from unnest(%(user_ids)s::uuid[]) as u(user_id)
