-- Replay and the applier: apply up to a batch of an organisation's held events
-- in source order, each in its own subtransaction (see the function); with the
-- mentors whose certificates changed.
select outcome, events, peer_mentor_ids
from private.apply_certificate_sync_events(%(organization_id)s, %(now)s, %(batch)s)
