-- The retention job's filter for a table whose rows stay in use until they
-- settle: a row whose {status_column} is one of the table's open statuses
-- (e.g. a notification still pending, whose push may yet go) is kept at any
-- age.
and not ({status_column} = any (%(open_statuses)s::text[]))
