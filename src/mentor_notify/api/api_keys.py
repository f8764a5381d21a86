"""The API's own secret keys, which callers of the job endpoints present.

They replace the project's JWT-based service-role key, which Supabase retires
by the end of 2026 in favour of publishable and secret API keys (guide
"Understanding API keys", checked 2026-11-29). Several keys may be valid at
once, so a key is rotated by adding the new one, moving callers over, and
removing the old one.
"""

import hashlib
import hmac
from collections.abc import Iterable

from mentor_notify.config import ConfigurationError

# Long enough that guessing is hopeless (256 bits of a random base64 key).
MIN_KEY_LENGTH = 32


class ApiKeys:
    """A set of secret keys, compared in constant time."""

    def __init__(self, keys: Iterable[str]) -> None:
        """`keys` are the accepted keys; each must be at least 32 characters."""
        self._keys = [key.encode("utf-8") for key in dict.fromkeys(keys)]
        for key in self._keys:
            if len(key) < MIN_KEY_LENGTH or not key.isascii() or key.strip() != key:
                raise ConfigurationError(
                    f"an API key must be at least {MIN_KEY_LENGTH} printable characters "
                    "without spaces (make one with: openssl rand -base64 32)"
                )

    @classmethod
    def parse(cls, text: str) -> "ApiKeys":
        """Keys separated by commas or line breaks, as the setting and Vault hold them."""
        return cls(part.strip() for part in text.replace("\n", ",").split(",") if part.strip())

    def __bool__(self) -> bool:
        return bool(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def accepts(self, candidate: str) -> bool:
        """Whether `candidate` is one of the keys. Every key is compared, each in
        constant time, so the time taken says nothing about how close a guess was or
        which key matched."""
        given = candidate.encode("utf-8", "surrogatepass")
        matched = False
        for key in self._keys:
            matched |= hmac.compare_digest(key, given)
        return matched

    def fingerprints(self) -> list[str]:
        """A short, non-secret name for each key (start of its SHA-256), for `config`
        and logs, so an operator can tell which keys are configured."""
        return ["sha256:" + hashlib.sha256(key).hexdigest()[:12] for key in self._keys]
