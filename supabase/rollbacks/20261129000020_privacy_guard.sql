-- Rollback of 20261129000020_privacy_guard: removes the personal-data checks
-- (the CHECK constraints that call them went with their tables' rollbacks).
drop function if exists private.contains_personal_data(jsonb);
drop function if exists private.text_contains_personal_data(text);
drop function if exists private.is_national_identity_number(text);
