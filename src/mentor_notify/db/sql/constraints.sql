-- Every constraint of the tables in the given schemas, with the unique
-- indexes that back no constraint (partial or expression indexes, kind 'i'),
-- since the schema enforces the idempotency keys with those: the catalog the
-- error translation reads to name the rule an insert broke.
select n.nspname as schema,
       t.relname as table,
       c.conname as name,
       c.contype::text as kind,
       array(
         select a.attname::text
         from unnest(c.conkey) with ordinality as k(attnum, ord)
         join pg_catalog.pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.attnum
         order by k.ord
       ) as columns,
       pg_catalog.obj_description(c.oid, 'pg_constraint') as comment,
       pg_catalog.pg_get_constraintdef(c.oid) as definition,
       rt.relname as referenced_table
from pg_catalog.pg_constraint c
join pg_catalog.pg_class t on t.oid = c.conrelid
join pg_catalog.pg_namespace n on n.oid = t.relnamespace
left join pg_catalog.pg_class rt on rt.oid = c.confrelid
where n.nspname = any(%(schemas)s) and c.contype in ('c', 'u', 'p', 'f', 'x')
union all
select n.nspname,
       t.relname,
       i.relname,
       'i',
       array(
         select a.attname::text
         from unnest(x.indkey::int2[]) with ordinality as k(attnum, ord)
         join pg_catalog.pg_attribute a on a.attrelid = x.indrelid and a.attnum = k.attnum
         order by k.ord
       ),
       pg_catalog.obj_description(i.oid, 'pg_class'),
       pg_catalog.pg_get_indexdef(i.oid),
       null
from pg_catalog.pg_index x
join pg_catalog.pg_class i on i.oid = x.indexrelid
join pg_catalog.pg_class t on t.oid = x.indrelid
join pg_catalog.pg_namespace n on n.oid = t.relnamespace
where n.nspname = any(%(schemas)s)
  and x.indisunique
  and not exists (select from pg_catalog.pg_constraint c where c.conindid = x.indexrelid)
