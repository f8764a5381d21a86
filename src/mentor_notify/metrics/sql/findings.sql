-- Findings of the data-quality report by issue, for the data-quality gauge:
-- the report's own rules (private.data_quality_report), read as service_role
-- sees it (every chapter), which service_claims.sql sets for the transaction.
select issue, count(*)::float8 as value
from private.data_quality_report()
group by issue
