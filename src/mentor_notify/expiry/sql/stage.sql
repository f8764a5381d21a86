-- The expiry job's working set, for one transaction: the due certificates with
-- what was decided for each (expiry_due: the tier, the days it stands for and
-- the business day), who besides the mentor hears about each
-- (expiry_recipients: coordinators, or chapter admins standing in), and the
-- pushes the write leaves for the queue (expiry_pushes). The sweep fills them
-- for a whole slice (candidates.sql, recipients.sql), the orchestrator for its
-- batch (stage_records.sql); write_notices.sql and enqueue.sql then write the
-- same way for both. Temporary and dropped at commit: nothing of it outlives
-- the transaction, and a retried record starts from empty tables.
create temp table if not exists expiry_due (
  certification_id uuid not null,
  organization_id uuid not null,
  peer_mentor_id uuid not null,
  certificate_type text not null,
  expiry_date date not null,
  tier text not null,
  days integer not null,
  day date not null
) on commit drop;
create temp table if not exists expiry_recipients (
  certification_id uuid not null,
  recipient_id uuid not null,
  audience text not null
) on commit drop;
create temp table if not exists expiry_pushes (
  notification_id uuid not null,
  organization_id uuid not null,
  recipient_id uuid not null,
  payload jsonb not null,
  collapse_key text not null
) on commit drop;
delete from expiry_due;
delete from expiry_recipients;
delete from expiry_pushes;
