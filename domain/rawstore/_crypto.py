"""The raw store's own cryptography (exempt from domain/'s _hazmat import contract by design).

Parquet modular encryption needs key wrapping in a format that parquet-mr (Spark) reads:
`KeyToolkit.encryptKeyLocally` = base64(nonce(12) || AES-GCM ciphertext || tag(16)) with the
master-key identifier as associated data. Here the "master key" is the per-dataset data key
that the domain's key store keeps wrapped under the domain master key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32
NONCE_BYTES = 12


class KeyUnwrapFailed(Exception):
    """Opaque on purpose: wrong key, wrong key id or tampering."""


def wrap_key(dataset_key: bytes, key_id: str, dek: bytes) -> str:
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(dataset_key).encrypt(nonce, dek, key_id.encode("utf-8"))
    return base64.b64encode(nonce + sealed).decode("ascii")


def unwrap_key(dataset_key: bytes, key_id: str, wrapped: str) -> bytes:
    try:
        raw = base64.b64decode(wrapped, validate=True)
        return AESGCM(dataset_key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], key_id.encode("utf-8"))
    except (InvalidTag, ValueError, TypeError):
        raise KeyUnwrapFailed() from None


def _mac_key(dataset_key: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"aod-rawstore manifest mac").derive(dataset_key)


def manifest_mac(dataset_key: bytes, canonical: bytes) -> str:
    return hmac.new(_mac_key(dataset_key), canonical, hashlib.sha256).hexdigest()


def check_manifest_mac(dataset_key: bytes, canonical: bytes, mac: str) -> bool:
    return hmac.compare_digest(manifest_mac(dataset_key, canonical), str(mac))


def new_key_id() -> str:
    return "aod-" + os.urandom(12).hex()
