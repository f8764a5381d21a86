-- Ticket 003: record that a scenario fired for a person. The cooldown trigger
-- drops it (no row returned) when it falls inside an earlier one's cooldown.
insert into public.scenario_notifications
  (user_id, organization_id, scenario_type, triggered_at, delivery_status, milestone_value, metadata,
   scenario_rule_id, cooldown_until)
values
  (%(user_id)s, %(organization_id)s, %(scenario_type)s, coalesce(%(triggered_at)s, now()),
   %(delivery_status)s, %(milestone_value)s, %(metadata)s, %(scenario_rule_id)s, %(cooldown_until)s)
returning id, user_id, organization_id, scenario_type, triggered_at, delivery_status,
          milestone_value, metadata, scenario_rule_id, cooldown_until
