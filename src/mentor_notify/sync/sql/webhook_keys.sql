-- Authenticating a webhook call: the organisation its URL names (id or slug;
-- an exact id wins) and the SHA-256 of each of that organisation's live keys,
-- which the caller's key is compared against; and what reading its deliveries
-- needs: its time zone and its Dataverse mapping (null: the proposal in the
-- code). No row: no such organisation.
select o.id as organization_id,
       o.timezone,
       to_jsonb(m) - 'organization_id' - 'updated_at' as mapping,
       coalesce(array_agg(k.key_sha256) filter (where k.id is not null), '{}') as key_sha256
from public.organizations o
left join public.certificate_sync_keys k
  on k.organization_id = o.id and k.revoked_at is null
left join public.certificate_sync_mappings m on m.organization_id = o.id
where o.slug = %(organization)s or o.id::text = %(organization)s
group by o.id, m.organization_id
order by o.id::text = %(organization)s desc
limit 1
