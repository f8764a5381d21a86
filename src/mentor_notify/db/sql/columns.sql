-- The columns of every table in the given schemas, in table order, for the
-- error translation's catalogue.
select n.nspname as schema,
       c.relname as table,
       array_agg(a.attname::text order by a.attnum) as columns
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
where n.nspname = any(%(schemas)s) and c.relkind in ('r', 'p')
group by n.nspname, c.relname
