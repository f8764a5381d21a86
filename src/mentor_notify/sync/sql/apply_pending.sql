-- Replay: apply up to a batch of an organisation's held events in source
-- order, each in its own subtransaction (see the function).
select outcome, events
from private.apply_certificate_sync_events(%(organization_id)s, %(now)s, %(batch)s)
