-- Due certificates per tier, for the summary.
select tier, count(*)::integer as certificates
from expiry_due
group by tier
