-- Rollback of 20261122001700_follow_up_delivery_log: removes the trigger that
-- records scenario deliveries.
drop trigger if exists push_outbox_record_follow_up on public.push_outbox;
drop function if exists private.push_outbox_record_follow_up();
