-- For this transaction only, read as PostgREST's service_role would: the
-- data-quality report shows every chapter to service_role (and only an
-- admin's own chapters to a person).
select set_config('request.jwt.claims', '{"role": "service_role"}', true)
