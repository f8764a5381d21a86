-- Rollback of 20261122001200_expiry_sweep_index: removes the sweep's index.
drop index if exists public.certification_expiry_tracking_organization_id_expiry_date_idx;
