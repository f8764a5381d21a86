-- Rollback of 20261206000200_expiry_notices_in_sql: the SQL forms of the expiry
-- notice's rules go. The expiry job's statements that call them must be those
-- of the same release. Idempotent.
drop function if exists private.expiry_push_payload(uuid, text, text, text, uuid, uuid, date, text);
drop function if exists private.expiry_notice_data(text, uuid, date, text);
drop function if exists private.expiry_deep_link(text, uuid, uuid, text, text);
drop function if exists private.coordinator_follow_up_link(uuid, uuid, text);
drop function if exists private.expiry_message_key(text, text);
drop function if exists private.cert_log_key(uuid, text, date, uuid);
drop function if exists private.expiry_notification_key(uuid, text, date, uuid);
drop function if exists private.expiry_collapse_key(uuid);
