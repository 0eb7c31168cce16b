"""Signed tree heads, as C2SP signed notes (the format of Go's sumdb, Sigstore's Rekor and
Trillian Tessera checkpoints), signed with Ed25519 from `cryptography`.

    aod.audit/3f2a9c...          origin (also the signing key's name)
    4096                         tree size
    <base64 root hash>
    time 2026-11-23T09:00:00.000000Z
    prev 3072 <base64 SHA-256 of the previous signed note>
                                 blank line
    — aod.audit/3f2a9c... <base64(key id[4] || signature[64])>

`prev` chains each tree head to the one before it, so a dropped tree head is seen. The key id
is the first 4 bytes of SHA-256(name || "\\n" || 0x01 || public key), per C2SP signed-note.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from audit.errors import AuditConfigError, AuditError
from audit.events import format_time, parse_time

ED25519 = b"\x01"
DASH = "\u2014"


class BadCheckpoint(AuditError):
    """A signed tree head cannot be parsed or its signature does not verify."""


def key_id(name: str, public_raw: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public_raw).digest()[:4]


def raw_public(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def origin_for(public_key: Ed25519PublicKey) -> str:
    return "aod.audit/" + hashlib.sha256(raw_public(public_key)).hexdigest()[:16]


def load_public_key(data: bytes | str | Path) -> Ed25519PublicKey:
    """A public key from PEM text/bytes or a path to a PEM file."""
    if isinstance(data, Path):
        data = data.read_bytes()
    if isinstance(data, str):
        data = data.encode()
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        raise AuditConfigError("the public key is not a PEM-encoded key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise AuditConfigError("the public key is not an Ed25519 key")
    return key


def public_pem(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


class Signer:
    """Ed25519 signing key with its note name (the log's origin)."""

    def __init__(self, private_key: Ed25519PrivateKey):
        self._key = private_key
        self.public_key = private_key.public_key()
        self.name = origin_for(self.public_key)
        self.key_id = key_id(self.name, raw_public(self.public_key))

    @classmethod
    def generate(cls) -> "Signer":
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load_or_create(cls, path: Path) -> "Signer":
        """The key at `path` (PEM, 0600), created atomically on first use."""
        path = Path(path)
        if not path.exists():
            _create_key_file(path)
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise AuditConfigError(
                f"the audit signing key {path} is readable by others (mode {mode:o}); chmod 600 it"
            )
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (ValueError, TypeError):
            raise AuditConfigError(f"{path} does not hold a PEM private key") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise AuditConfigError(f"{path} is not an Ed25519 key")
        return cls(key)

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # atomic and fails if another process won the race
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)
    _fsync_dir(path.parent)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Checkpoint:
    """An unsigned tree head."""

    origin: str
    size: int
    root: bytes
    time: datetime
    prev: tuple[int, bytes] | None = None  # (size, SHA-256 of the previous signed note)

    def body(self) -> str:
        lines = [self.origin, str(self.size), _b64(self.root), f"time {format_time(self.time)}"]
        if self.prev is not None:
            lines.append(f"prev {self.prev[0]} {_b64(self.prev[1])}")
        return "\n".join(lines) + "\n"

    def sign(self, signer: Signer) -> "SignedCheckpoint":
        signature = signer.sign(self.body().encode())
        return SignedCheckpoint(self, signer.name, signer.key_id, signature)


@dataclass(frozen=True)
class SignedCheckpoint:
    checkpoint: Checkpoint
    key_name: str
    key_id: bytes
    signature: bytes

    @property
    def size(self) -> int:
        return self.checkpoint.size

    @property
    def root(self) -> bytes:
        return self.checkpoint.root

    @property
    def time(self) -> datetime:
        return self.checkpoint.time

    def to_text(self) -> str:
        sig = _b64(self.key_id + self.signature)
        return f"{self.checkpoint.body()}\n{DASH} {self.key_name} {sig}\n"

    def note_hash(self) -> bytes:
        return hashlib.sha256(self.to_text().encode()).digest()

    @classmethod
    def from_text(cls, text: str | bytes) -> "SignedCheckpoint":
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError:
                raise BadCheckpoint("tree head is not UTF-8 text") from None
        body, sep, sigs = text.partition("\n\n")
        if not sep or not body:
            raise BadCheckpoint("tree head has no blank line before its signature")
        return cls(_parse_body(body + "\n"), *_parse_signature(sigs))

    def signature_ok(self, public_key: Ed25519PublicKey) -> bool:
        if self.key_id != key_id(self.key_name, raw_public(public_key)):
            return False
        try:
            public_key.verify(self.signature, self.checkpoint.body().encode())
        except InvalidSignature:
            return False
        return True

    def check_signature(self, public_key: Ed25519PublicKey) -> None:
        expected = key_id(self.key_name, raw_public(public_key))
        if self.key_id != expected:
            raise BadCheckpoint(
                f"tree head at size {self.size} is signed by key {self.key_id.hex()}, "
                f"not by this log's key {expected.hex()}"
            )
        if not self.signature_ok(public_key):
            raise BadCheckpoint(f"tree head at size {self.size} has an invalid signature")


def _parse_body(body: str) -> Checkpoint:
    lines = body.split("\n")[:-1]
    if len(lines) < 4:
        raise BadCheckpoint("tree head body is too short")
    origin, size_text, root_text = lines[:3]
    if not size_text.isdigit() or (len(size_text) > 1 and size_text[0] == "0"):
        raise BadCheckpoint("tree head size is not a number")
    root = _unb64(root_text, "root hash")
    if len(root) != 32:
        raise BadCheckpoint("tree head root is not 32 bytes")
    time, prev = None, None
    for line in lines[3:]:
        word, _, rest = line.partition(" ")
        if word == "time" and time is None:
            try:
                time = parse_time(rest)
            except ValueError:
                raise BadCheckpoint("tree head time is malformed") from None
        elif word == "prev" and prev is None:
            psize, _, phash = rest.partition(" ")
            if not psize.isdigit():
                raise BadCheckpoint("tree head prev size is not a number")
            prev = (int(psize), _unb64(phash, "prev hash"))
        else:
            raise BadCheckpoint("tree head has an unknown or repeated line")
    if time is None:
        raise BadCheckpoint("tree head has no time line")
    return Checkpoint(origin, int(size_text), root, time, prev)


def _parse_signature(sigs: str) -> tuple[str, bytes, bytes]:
    lines = [line for line in sigs.split("\n") if line]
    if len(lines) != 1 or not lines[0].startswith(DASH + " "):
        raise BadCheckpoint("tree head must carry exactly one signature line")
    parts = lines[0].split(" ")
    if len(parts) != 3:
        raise BadCheckpoint("tree head signature line is malformed")
    blob = _unb64(parts[2], "signature")
    if len(blob) != 4 + 64:
        raise BadCheckpoint("tree head signature has the wrong length")
    return parts[1], blob[:4], blob[4:]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise BadCheckpoint(f"tree head {what} is not base64") from None
