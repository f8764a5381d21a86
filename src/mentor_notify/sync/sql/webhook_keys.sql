-- Authenticating a webhook call: the organisation its URL names (id or slug;
-- an exact id wins) and the SHA-256 of each of that organisation's live keys,
-- which the caller's key is compared against. No row: no such organisation.
select o.id as organization_id,
       coalesce(array_agg(k.key_sha256) filter (where k.id is not null), '{}') as key_sha256
from public.organizations o
left join public.certificate_sync_keys k
  on k.organization_id = o.id and k.revoked_at is null
where o.slug = %(organization)s or o.id::text = %(organization)s
group by o.id
order by o.id::text = %(organization)s desc
limit 1
