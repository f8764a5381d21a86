"""Push credentials and the API's keys read from Supabase Vault
(`vault.decrypted_secrets`) when the settings name secrets there; a missing secret or a
database without Vault is a clear configuration error."""

import pytest

from mentor_notify.api import Authenticator, Unauthenticated
from mentor_notify.config import ConfigurationError, Settings
from mentor_notify.db import Pool
from mentor_notify.domain import SystemClock
from mentor_notify.push.dispatcher import Dispatcher
from mentor_notify.push.outbox import Outbox
from mentor_notify.push.senders import emulator_credentials, open_senders
from mentor_notify.vault import with_vault_secrets
from tests.api.credentials import SECRET
from tests.integration.test_expiry_sweep import CLOCK
from tests.integration.test_outbox import queued_world, statuses
from tests.integration.test_push_delivery import Service, service  # noqa: F401 - fixture

# What Supabase's Vault exposes to the service role: a view of decrypted secrets by name.
SUPABASE_VAULT = """
create schema vault;
create table vault.decrypted_secrets (name text primary key, decrypted_secret text);
"""


async def test_credentials_come_from_vault(own_pool: Pool, service: Service) -> None:  # noqa: F811
    url = service.settings.fcm_base_url
    credentials = emulator_credentials(url)
    service.emulator.apns_public_key = None  # a key the emulator was not told about
    async with own_pool.connection() as conn:
        await conn.execute(SUPABASE_VAULT)
        await conn.execute(
            "insert into vault.decrypted_secrets values ('fcm-key', %s), ('apns-key', %s)",
            [credentials.service_account_json, credentials.apns_key_pem],
        )
    settings = service.settings.model_copy(
        update={
            "fcm_credentials_json": None,
            "apns_key": None,
            "fcm_credentials_vault_secret": "fcm-key",
            "apns_key_vault_secret": "apns-key",
        }
    )
    await queued_world(own_pool, {"a": 7})

    async with open_senders(settings, SystemClock(), own_pool) as senders:
        result = await Dispatcher(Outbox(own_pool, "w"), senders, CLOCK).run_once()

    assert set(senders) == {"fcm", "apns"}
    assert result.sent == 2
    assert await statuses(own_pool) == {"sent": 2}


async def test_a_missing_vault_secret_or_vault_is_a_clear_error(
    own_pool: Pool,
    service: Service,  # noqa: F811
) -> None:
    settings = service.settings.model_copy(update={"fcm_credentials_vault_secret": "nope"})

    with pytest.raises(ConfigurationError, match="no Supabase Vault"):
        async with open_senders(settings, SystemClock(), own_pool):
            pass
    async with own_pool.connection() as conn:
        await conn.execute(SUPABASE_VAULT)
    with pytest.raises(ConfigurationError, match="no Supabase Vault secret named nope"):
        async with open_senders(settings, SystemClock(), own_pool):
            pass


async def test_the_api_keys_come_from_vault(own_pool: Pool) -> None:
    old, new = "old-key-" + "o" * 32, "new-key-" + "n" * 32
    async with own_pool.connection() as conn:
        await conn.execute(SUPABASE_VAULT)
        await conn.execute(
            "insert into vault.decrypted_secrets values ('mentor_notify_api_key', %s)",
            [f"{new}\n{old}\n"],
        )
    settings = Settings(jwt_secret=SECRET, api_keys_vault_secret="mentor_notify_api_key")

    keyed = await with_vault_secrets(settings, own_pool, ["api_keys"])
    auth = Authenticator.from_settings(keyed, SystemClock())

    assert await auth.job_caller(new, None) == "api key"
    assert await auth.job_caller(old, None) == "api key"
    with pytest.raises(Unauthenticated):
        await auth.job_caller("new-key-" + "x" * 32, None)
