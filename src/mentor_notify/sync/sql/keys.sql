-- `sync keys list`: the webhook keys of the organisations asked for, live and
-- revoked, oldest first (hashes only; the command shows their fingerprints).
select k.id, k.organization_id, o.slug, k.key_sha256, k.created_at, k.revoked_at
from public.certificate_sync_keys k
join public.organizations o on o.id = k.organization_id
where k.organization_id = any(%(organization_ids)s::uuid[])
order by o.slug, k.created_at, k.id
