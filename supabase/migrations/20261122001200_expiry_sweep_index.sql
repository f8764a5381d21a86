-- The daily expiry sweep works one organisation at a time and picks that
-- organisation's certificates expiring before its furthest warning window
-- (or already lapsed). With many organisations in one database, neither the
-- organisation index nor the expiry-date index alone narrows that down.
create index if not exists certification_expiry_tracking_organization_id_expiry_date_idx
  on public.certification_expiry_tracking (organization_id, expiry_date);
comment on index public.certification_expiry_tracking_organization_id_expiry_date_idx is
  'Lets the expiry sweep find one organisation''s certificates inside (or past) its warning windows.';
