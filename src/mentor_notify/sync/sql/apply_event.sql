-- Apply one stored event now (its organisation's sync is on); the rule itself
-- is the database function, shared with replay and the worker.
select private.apply_certificate_sync_event(%(event_id)s, %(now)s) as outcome
