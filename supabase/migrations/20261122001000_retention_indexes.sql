-- Retention: `mentor-notify maintenance prune` deletes delivery records older
-- than the retention period in small batches, oldest first. Each batch must
-- find its rows through an index on the record's time, or every batch would
-- scan the whole table. cert_notification_log already has one on sent_at.
create index if not exists follow_up_notification_log_delivered_at_idx
  on public.follow_up_notification_log (delivered_at);
comment on index public.follow_up_notification_log_delivered_at_idx is
  'Lets the retention job find the oldest delivery records without scanning the table.';
