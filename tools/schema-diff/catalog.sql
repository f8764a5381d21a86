-- The access catalog scripts/schema-diff compares besides pg_dump: who may do
-- what on each object of the project's schemas, every policy, and where RLS is
-- on. One row per fact, sorted, so two databases built differently compare
-- line by line. Grantor and grantee by name (role oids differ per server).

-- Table, view and sequence privileges.
select 'table' as kind, n.nspname || '.' || c.relname as object,
       coalesce(grantee.rolname, 'PUBLIC') as grantee, a.privilege_type as privilege
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
cross join lateral pg_catalog.aclexplode(c.relacl) a
left join pg_catalog.pg_roles grantee on grantee.oid = a.grantee
where n.nspname in ('public', 'private', 'supabase_migrations')
union all
-- Column privileges.
select 'column', n.nspname || '.' || c.relname || '.' || att.attname,
       coalesce(grantee.rolname, 'PUBLIC'), a.privilege_type
from pg_catalog.pg_attribute att
join pg_catalog.pg_class c on c.oid = att.attrelid
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
cross join lateral pg_catalog.aclexplode(att.attacl) a
left join pg_catalog.pg_roles grantee on grantee.oid = a.grantee
where n.nspname in ('public', 'private') and att.attacl is not null
union all
-- Function privileges (a null proacl means PostgreSQL's default: PUBLIC may execute).
select 'function', p.oid::regprocedure::text,
       coalesce(grantee.rolname, 'PUBLIC'), a.privilege_type
from pg_catalog.pg_proc p
join pg_catalog.pg_namespace n on n.oid = p.pronamespace
cross join lateral pg_catalog.aclexplode(coalesce(p.proacl, pg_catalog.acldefault('f', p.proowner))) a
left join pg_catalog.pg_roles grantee on grantee.oid = a.grantee
where n.nspname in ('public', 'private')
union all
-- Schema privileges.
select 'schema', n.nspname, coalesce(grantee.rolname, 'PUBLIC'), a.privilege_type
from pg_catalog.pg_namespace n
cross join lateral pg_catalog.aclexplode(coalesce(n.nspacl, pg_catalog.acldefault('n', n.nspowner))) a
left join pg_catalog.pg_roles grantee on grantee.oid = a.grantee
where n.nspname in ('public', 'private', 'auth', 'extensions')
union all
-- Default privileges for objects created later.
select 'default ' || d.defaclobjtype::text, coalesce(n.nspname, '(all schemas)'),
       coalesce(grantee.rolname, 'PUBLIC'), a.privilege_type
from pg_catalog.pg_default_acl d
left join pg_catalog.pg_namespace n on n.oid = d.defaclnamespace
cross join lateral pg_catalog.aclexplode(d.defaclacl) a
left join pg_catalog.pg_roles grantee on grantee.oid = a.grantee
union all
-- Row-level security per table.
select 'rls', n.nspname || '.' || c.relname,
       case when c.relrowsecurity then 'enabled' else 'disabled' end,
       case when c.relforcerowsecurity then 'forced' else '' end
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where n.nspname in ('public', 'private') and c.relkind in ('r', 'p')
union all
-- Policies, in full.
select 'policy', p.schemaname || '.' || p.tablename || '.' || p.policyname,
       p.permissive || ' ' || p.cmd || ' to ' || p.roles::text,
       'using ' || coalesce(p.qual, '-') || ' check ' || coalesce(p.with_check, '-')
from pg_catalog.pg_policies p
order by 1, 2, 3, 4;
