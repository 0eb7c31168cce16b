"""Signed release manifests: what was released, under which grant and scenario, approved by
whom, when, with which watermark, signed with Ed25519 over the RFC 8785 canonical JSON.

    manifest = build(...); signed = sign(manifest, key)     # {"manifest": {...}, "signature": "…"}
    verify_file(path, signed, public_key)                   # raises ManifestInvalid
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any, Mapping

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from export_review.errors import ManifestInvalid

SCHEMA = "aod.export.manifest/v1"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sign(manifest: Mapping[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    body = dict(manifest, schema=SCHEMA)
    signature = key.sign(rfc8785.dumps(body))
    return {"manifest": body, "signature": base64.b64encode(signature).decode()}


def check_signature(signed: Mapping[str, Any], public: Ed25519PublicKey) -> dict[str, Any]:
    try:
        body = dict(signed["manifest"])
        signature = base64.b64decode(signed["signature"], validate=True)
        public.verify(signature, rfc8785.dumps(body))
    except (KeyError, TypeError, ValueError, InvalidSignature):
        raise ManifestInvalid("the manifest's signature does not verify with the domain's export key") from None
    if body.get("schema") != SCHEMA:
        raise ManifestInvalid(f"unknown manifest schema {body.get('schema')!r}")
    return body


def verify_file(path: Path, signed: Mapping[str, Any], public: Ed25519PublicKey) -> dict[str, Any]:
    """Verify the signature, then the file's content hash against it; returns the manifest."""
    body = check_signature(signed, public)
    actual = sha256_file(path)
    if actual != body.get("sha256"):
        raise ManifestInvalid(f"{Path(path).name} was changed after release: its SHA-256 is not the "
                              "one in the signed manifest")
    return body


def load(path: Path) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise ManifestInvalid(f"{Path(path).name} is not a readable manifest") from None
