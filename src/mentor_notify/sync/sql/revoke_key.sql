-- `sync keys revoke`: the organisation's key with this fingerprint (the start
-- of its hash) admits nobody from now on. Revoking it again keeps the first
-- revocation time and says it was already revoked, so a re-run is harmless.
with target as (
  select k.id, k.revoked_at
  from public.certificate_sync_keys k
  where k.organization_id = %(organization_id)s and starts_with(k.key_sha256, %(prefix)s)
  for update
)
update public.certificate_sync_keys k
set revoked_at = coalesce(t.revoked_at, %(now)s)
from target t
where k.id = t.id
returning k.id, k.organization_id,
          (select o.slug from public.organizations o where o.id = k.organization_id) as slug,
          k.key_sha256, k.created_at, k.revoked_at, t.revoked_at is not null as already_revoked
