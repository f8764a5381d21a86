-- `sync retry`: put dead events back in the queue (after their mapping was
-- fixed); returns the ids re-queued. Events that are not dead are left alone.
update public.certificate_sync_events
set status = 'pending', reason = null, processed_at = null
where id = any(%(ids)s::bigint[]) and status = 'dead'
returning id, organization_id
