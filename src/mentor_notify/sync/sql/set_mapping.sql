-- `sync mappings set`: store an organisation's Dataverse table and column names
-- and date behaviour (the whole mapping, so what is stored is what was shown).
insert into public.certificate_sync_mappings (
  organization_id, table_name, person_column, certificate_type_column, issued_on_column,
  expiry_date_column, revoked_on_column, state_column, modified_on_column, version_column,
  date_behavior, updated_at
)
values (
  %(organization_id)s, %(table_name)s, %(person_column)s, %(certificate_type_column)s,
  %(issued_on_column)s, %(expiry_date_column)s, %(revoked_on_column)s, %(state_column)s,
  %(modified_on_column)s, %(version_column)s, %(date_behavior)s, %(now)s
)
on conflict (organization_id) do update set
  table_name = excluded.table_name,
  person_column = excluded.person_column,
  certificate_type_column = excluded.certificate_type_column,
  issued_on_column = excluded.issued_on_column,
  expiry_date_column = excluded.expiry_date_column,
  revoked_on_column = excluded.revoked_on_column,
  state_column = excluded.state_column,
  modified_on_column = excluded.modified_on_column,
  version_column = excluded.version_column,
  date_behavior = excluded.date_behavior,
  updated_at = excluded.updated_at
