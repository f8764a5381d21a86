-- What a dry run of the retention job for {table} would delete: the rows
-- recorded before the cutoff and not still in use (the same rows
-- prune_batch.sql deletes, counted).
select count(*) as n
from public.{table}
where {time_column} < %(cutoff)s
{settled}
