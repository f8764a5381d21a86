"""The API's own secret keys, which callers of the job endpoints present.

They replace the project's JWT-based service-role key, which Supabase retires
by the end of 2026 in favour of publishable and secret API keys (guide
"Understanding API keys", checked 2026-11-29). Several keys may be valid at
once, so a key is rotated by adding the new one, moving callers over, and
removing the old one. The same comparer checks the certificate sync's webhook
keys, of which the database keeps only SHA-256 digests (`ApiKeys.from_sha256`).
"""

import hashlib
import hmac
import secrets
from collections.abc import Iterable

from mentor_notify.config import ConfigurationError

# Long enough that guessing is hopeless (256 bits of a random base64 key).
MIN_KEY_LENGTH = 32
# Hex digits of a key's SHA-256 that name it: enough to tell keys apart, too
# few to help anyone find the key.
FINGERPRINT_DIGITS = 12


def new_key() -> str:
    """A fresh random key: 256 bits as URL-safe base64 (43 characters), which a
    header and a query string carry unescaped."""
    return secrets.token_urlsafe(32)


def key_sha256(key: str) -> str:
    """Lowercase hex SHA-256 of `key`: what is kept of a key where only its holder
    should know it (a 256-bit random key cannot be recovered from its hash)."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class ApiKeys:
    """A set of secret keys, compared in constant time.

    Only the keys' SHA-256 digests are held, so the same set can be built from
    the keys themselves (a setting) or from stored digests (`from_sha256`)."""

    def __init__(self, keys: Iterable[str]) -> None:
        """`keys` are the accepted keys; each must be at least 32 characters."""
        unique = list(dict.fromkeys(keys))
        for key in unique:
            if len(key) < MIN_KEY_LENGTH or not key.isascii() or key.strip() != key:
                raise ConfigurationError(
                    f"an API key must be at least {MIN_KEY_LENGTH} printable characters "
                    "without spaces (make one with: openssl rand -base64 32)"
                )
        self._digests = [bytes.fromhex(key_sha256(key)) for key in unique]

    @classmethod
    def from_sha256(cls, digests: Iterable[str]) -> "ApiKeys":
        """The keys whose hex SHA-256 digests are `digests` (see `key_sha256`)."""
        keys = cls([])
        keys._digests = [bytes.fromhex(d) for d in dict.fromkeys(digests)]
        return keys

    @classmethod
    def parse(cls, text: str) -> "ApiKeys":
        """Keys separated by commas or line breaks, as the setting and Vault hold them."""
        return cls(part.strip() for part in text.replace("\n", ",").split(",") if part.strip())

    def __bool__(self) -> bool:
        return bool(self._digests)

    def __len__(self) -> int:
        return len(self._digests)

    def accepts(self, candidate: str) -> bool:
        """Whether `candidate` is one of the keys. Every key is compared, each in
        constant time, so the time taken says nothing about how close a guess was or
        which key matched."""
        given = bytes.fromhex(key_sha256(candidate))
        matched = False
        for digest in self._digests:
            matched |= hmac.compare_digest(digest, given)
        return matched

    def fingerprints(self) -> list[str]:
        """A short, non-secret name for each key (start of its SHA-256), for `config`
        and logs, so an operator can tell which keys are configured."""
        return [fingerprint(digest.hex()) for digest in self._digests]


def fingerprint(sha256_hex: str) -> str:
    """The fingerprint of the key with hex SHA-256 `sha256_hex`: `sha256:` and its
    first 12 digits."""
    return "sha256:" + sha256_hex[:FINGERPRINT_DIGITS]
