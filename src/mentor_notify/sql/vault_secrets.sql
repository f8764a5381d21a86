-- The decrypted values of the named Supabase Vault secrets (credentials kept
-- in the database instead of the environment); readable by the database owner
-- and the service role only.
select name, decrypted_secret
from vault.decrypted_secrets
where name = any(%(names)s)
