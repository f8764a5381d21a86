-- The sweep's directory step finds the listings to hide or list again
-- through an index (issue 16, speed of the nightly run).
--
-- The step (src/mentor_notify/expiry/sql/directory.sql) looks, per
-- organisation, for active listings whose certificate has lapsed and for
-- listings it hid itself whose certificate is valid again. Without an index
-- on those columns both halves read every listing of the organisation: at a
-- million mentors, two scans of 330,000 rows per organisation each night,
-- about 0.7 s of the nightly run, to change a few hundred. With
-- (organization_id, suppression_status, certification_expiry_date) each half
-- reads only the rows it changes.
--
-- Grants: an index needs none. Idempotent ("if not exists").
--
-- Locks: the build holds a SHARE lock on mentor_directory (writes wait) for
-- one pass over the table. As in 20261129000600: give up at once rather than
-- queue behind a long transaction, and never hold it indefinitely; if the
-- lock is not granted in time, run the migration again.

set local lock_timeout = '5s';
set local statement_timeout = '10min';
set local idle_in_transaction_session_timeout = '1min';

create index if not exists mentor_directory_organization_id_suppression_idx
  on public.mentor_directory (organization_id, suppression_status, certification_expiry_date);
comment on index public.mentor_directory_organization_id_suppression_idx is
  'Lets the expiry sweep''s directory step find an organisation''s lapsed active listings, and the listings it hid that are valid again, without reading the others.';
