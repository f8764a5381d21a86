-- Rollback of 20261129000800_directory_sweep_index: the directory step's
-- index goes (the step then reads every listing of an organisation again).
-- Idempotent.
drop index if exists public.mentor_directory_organization_id_suppression_idx;
