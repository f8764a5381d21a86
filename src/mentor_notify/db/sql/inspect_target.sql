-- What the target database is: the markers of a Supabase-managed database
-- (which is never bootstrapped), and which pieces the local bootstrap provides
-- are missing (plain PostgreSQL is bootstrapped when any is).
select
  array_remove(
    array[case when exists (select from pg_catalog.pg_roles where rolname = 'supabase_admin')
               then 'role supabase_admin' end]
    || array(select 'schema ' || nspname from pg_catalog.pg_namespace
             where nspname = any(%(schemas)s) order by nspname),
    null) as supabase_markers,
  array_remove(array[
    case when not exists (select from pg_catalog.pg_roles where rolname = 'anon')
         then 'role anon' end,
    case when not exists (select from pg_catalog.pg_roles where rolname = 'authenticated')
         then 'role authenticated' end,
    case when not exists (select from pg_catalog.pg_roles where rolname = 'service_role')
         then 'role service_role' end,
    case when to_regnamespace('extensions') is null then 'schema extensions' end,
    case when to_regclass('auth.users') is null then 'table auth.users' end,
    case when to_regprocedure('auth.uid()') is null then 'function auth.uid()' end,
    case when to_regprocedure('auth.role()') is null then 'function auth.role()' end,
    case when to_regprocedure('auth.jwt()') is null then 'function auth.jwt()' end
  ], null) as missing
