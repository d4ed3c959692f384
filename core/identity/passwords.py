"""Password and secret hashing with bcrypt.

bcrypt reads at most 72 bytes, so secrets are first reduced with SHA-256 (and
base64, to avoid NUL bytes): every character of a long password counts.
"""

from __future__ import annotations

import base64
import hashlib

import bcrypt

from core import errors

MAX_PASSWORD_LENGTH = 4096


def _prepare(secret: str) -> bytes:
    return base64.b64encode(hashlib.sha256(secret.encode("utf-8")).digest())


class PasswordHasher:
    """Hashes and checks passwords and secrets at one bcrypt cost factor."""

    def __init__(self, rounds: int = 12) -> None:
        self.rounds = rounds
        # Checked when a user is unknown, so that an unknown user and a wrong
        # password cost the same time.
        self._dummy = bcrypt.hashpw(b"dummy", bcrypt.gensalt(rounds))

    def hash(self, secret: str) -> str:
        if not isinstance(secret, str) or len(secret) > MAX_PASSWORD_LENGTH:
            raise errors.InvalidInput(
                f"Invalid password: at most {MAX_PASSWORD_LENGTH} characters.")
        return bcrypt.hashpw(_prepare(secret), bcrypt.gensalt(self.rounds)).decode()

    def verify(self, secret: str, hashed: str | None) -> bool:
        """Check ``secret`` against ``hashed``; with no hash, spend the same time."""
        candidate = _prepare(secret[:MAX_PASSWORD_LENGTH + 1])
        if not hashed or len(secret) > MAX_PASSWORD_LENGTH:
            bcrypt.checkpw(candidate, self._dummy)
            return False
        try:
            return bcrypt.checkpw(candidate, hashed.encode())
        except ValueError:
            return False
