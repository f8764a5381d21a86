-- `sync keys add`: register a new webhook key of an organisation (only its
-- hash; the key is shown to the operator once and kept nowhere).
insert into public.certificate_sync_keys (organization_id, key_sha256, created_at)
values (%(organization_id)s, %(key_sha256)s, %(now)s)
returning id, organization_id,
          (select o.slug from public.organizations o where o.id = organization_id) as slug,
          key_sha256, created_at, revoked_at
