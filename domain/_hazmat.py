"""The only module of domain/ that touches cryptographic primitives directly.

Everything else uses the recipes in `domain.keys` (a test enforces this import contract).
AES-256-GCM with a random 96-bit nonce per message; the associated data binds a wrapped key
to its purpose and owner, so a key wrapped for one dataset cannot be replayed for another.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12


class DecryptionFailed(Exception):
    """Opaque on purpose (like Fernet's InvalidToken): wrong key, wrong context or tampering."""


def random_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def seal(key: bytes, plaintext: bytes, context: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, context)


def open_sealed(key: bytes, sealed: bytes, context: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], context)
    except (InvalidTag, ValueError):
        raise DecryptionFailed() from None
