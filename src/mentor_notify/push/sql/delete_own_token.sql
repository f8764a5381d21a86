-- A user deletes one of their own devices (signing out of the app): matched
-- on the owner too, so nobody can delete another user's device by its id.
delete from public.device_tokens
where id = %(id)s
  and user_id = %(user_id)s
