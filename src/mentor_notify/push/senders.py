"""The senders a dispatcher uses, built from the settings.

A push service without credentials gets no sender: its messages stay queued
(the dispatcher retries them later) rather than failing, so configuring the
credentials afterwards delivers them.
"""

import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import SecretStr

from mentor_notify.config import ConfigurationError, Settings, check_base_url
from mentor_notify.db import Pool
from mentor_notify.domain import Clock
from mentor_notify.push.apns import ApnsSender, ProviderToken
from mentor_notify.push.dispatcher import Sender
from mentor_notify.push.fcm import FcmSender, ServiceAccountTokens
from mentor_notify.push.http2 import Http2Client, Transport
from mentor_notify.vault import with_vault_secrets


class PushConfigurationError(ConfigurationError):
    """The push settings are incomplete or unreadable; the message says which."""


# The push credentials Supabase Vault may hold instead of the environment.
PUSH_CREDENTIALS = ("fcm_credentials_json", "apns_key")

# Makes the HTTP client for one push service's base URL.
TransportFactory = Callable[[Settings, str], Transport]


@dataclass(frozen=True)
class EmulatorCredentials:
    """Throwaway credentials the emulator accepts: a service account whose token
    endpoint is the emulator's, and an APNs signing key."""

    service_account_json: str
    project_id: str
    apns_key_pem: str
    apns_key_id: str = "EMULATORK1"
    apns_team_id: str = "EMULATORT1"
    apns_topic: str = "no.mentornotify.app"


def emulator_credentials(
    base_url: str, project_id: str = "mentor-notify-emulator"
) -> EmulatorCredentials:
    """Fresh keys for talking to the emulator at `base_url`; never valid anywhere else."""
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_pem = rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    account = {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": "emulator",
        "private_key": rsa_pem,
        "client_email": f"dispatcher@{project_id}.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": f"{base_url.rstrip('/')}/token",
    }
    ec_pem = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    return EmulatorCredentials(json.dumps(account), project_id, ec_pem)


def settings_for_emulator(
    settings: Settings, base_url: str, credentials: EmulatorCredentials | None = None
) -> Settings:
    """`settings` with both push services pointed at the emulator, with emulator credentials
    (fresh ones unless given). A `base_url` that is not an http(s) URL with a host raises
    `PushConfigurationError`."""
    # model_copy() does not validate, so the URL rule the settings apply to
    # fcm_base_url and apns_base_url is applied here.
    try:
        check_base_url(base_url)
    except ValueError as exc:
        raise PushConfigurationError(f"the push emulator's address: {exc}") from None
    credentials = credentials or emulator_credentials(base_url)
    return settings.model_copy(
        update={
            "fcm_base_url": base_url,
            "fcm_project_id": credentials.project_id,
            "fcm_credentials_file": None,
            "fcm_credentials_json": SecretStr(credentials.service_account_json),
            "apns_base_url": base_url,
            "apns_key_file": None,
            "apns_key": SecretStr(credentials.apns_key_pem),
            "apns_key_id": credentials.apns_key_id,
            "apns_team_id": credentials.apns_team_id,
            "apns_topic": credentials.apns_topic,
        }
    )


def _secret(value: SecretStr | None, path: Path | None, what: str) -> str | None:
    """A credential given as text, else read from its file; None when neither is set."""
    if value is not None:
        return value.get_secret_value()
    if path is None:
        return None
    try:
        return path.read_text("utf-8")
    except OSError as exc:
        raise PushConfigurationError(f"cannot read the {what} {path}: {exc.strerror}") from None


def http2_client(settings: Settings, base_url: str) -> Http2Client:
    """An HTTP/2 client for the push service at `base_url`, sized and timed by `settings`."""
    return Http2Client(
        base_url,
        max_connections=settings.push_connections,
        ping_after=settings.push_ping_after_seconds,
        ping_timeout=settings.push_ping_timeout_seconds,
    )


def _fcm(settings: Settings, transport: TransportFactory) -> FcmSender | None:
    document = _secret(
        settings.fcm_credentials_json,
        settings.fcm_credentials_file,
        "FCM service-account file",
    )
    if document is None:
        return None
    try:
        project = settings.fcm_project_id or json.loads(document)["project_id"]
        tokens = ServiceAccountTokens.from_json(document)
    except (ValueError, KeyError, TypeError) as exc:
        raise PushConfigurationError(
            "the FCM credentials are not a service-account JSON key (download one from the "
            f"Firebase console, Project settings > Service accounts): {type(exc).__name__}"
        ) from None
    connection = transport(settings, settings.fcm_base_url)
    return FcmSender(connection, str(project), tokens)


def _apns(settings: Settings, clock: Clock, transport: TransportFactory) -> ApnsSender | None:
    key = _secret(settings.apns_key, settings.apns_key_file, "APNs key file")
    if key is None:
        return None
    missing = [
        name
        for name, value in (
            ("MENTOR_NOTIFY_APNS_KEY_ID", settings.apns_key_id),
            ("MENTOR_NOTIFY_APNS_TEAM_ID", settings.apns_team_id),
            ("MENTOR_NOTIFY_APNS_TOPIC", settings.apns_topic),
        )
        if not value
    ]
    if missing:
        raise PushConfigurationError(f"an APNs key is set but {', '.join(missing)} is not")
    key_id, team_id, topic = (
        str(settings.apns_key_id),
        str(settings.apns_team_id),
        str(settings.apns_topic),
    )
    token = ProviderToken(key, key_id, team_id, clock)
    try:
        token.token()
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise PushConfigurationError(
            f"the APNs key is not an ES256 (.p8) private key: {type(exc).__name__}"
        ) from None
    connection = transport(settings, settings.apns_base_url)
    return ApnsSender(connection, token, topic, clock)


@contextlib.asynccontextmanager
async def open_senders(
    settings: Settings,
    clock: Clock,
    pool: Pool | None = None,
    *,
    transport: TransportFactory = http2_client,
) -> AsyncIterator[dict[str, Sender]]:
    """The configured senders by provider (`fcm`, `apns`), closed on exit; with `pool`,
    credentials named as Supabase Vault secrets are read from the database first.
    `transport` makes their HTTP clients (another one: the push benchmark's contender)."""
    if pool is not None:
        settings = await with_vault_secrets(settings, pool, PUSH_CREDENTIALS)
    fcm, apns = _fcm(settings, transport), _apns(settings, clock, transport)
    senders: dict[str, Sender] = {}
    if fcm is not None:
        senders["fcm"] = fcm
    if apns is not None:
        senders["apns"] = apns
    try:
        yield senders
    finally:
        for sender in (fcm, apns):
            if sender is not None:
                await sender.close()
