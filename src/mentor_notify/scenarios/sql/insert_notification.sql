-- Ticket 003: record that a scenario fired for a person.
insert into public.scenario_notifications
  (user_id, organization_id, scenario_type, triggered_at, delivery_status, milestone_value, metadata)
values
  (%(user_id)s, %(organization_id)s, %(scenario_type)s, coalesce(%(triggered_at)s, now()),
   %(delivery_status)s, %(milestone_value)s, %(metadata)s)
returning id, user_id, organization_id, scenario_type, triggered_at, delivery_status,
          milestone_value, metadata
