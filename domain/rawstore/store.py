"""The encrypted raw store: write a dataset once, open it inside an engine.

Format (chosen after trying the alternatives, see docs/api/sql.md): one Parquet file per
dataset with Parquet modular encryption, AES-256-GCM (AES_GCM_V1), uniform encryption and an
encrypted footer, so column names, statistics and every page are ciphertext. The file's data
encryption key (DEK, random, 256-bit) is wrapped by the per-dataset key exactly as parquet-mr
wraps it, so:

- DuckDB reads it natively (`read_parquet(..., encryption_config={footer_key: ...})`) with the
  unwrapped DEK registered in its memory (`PRAGMA add_parquet_key`);
- Spark reads it natively and in parallel (row group splits) through the store's KMS client
  (`aod.rawstore.AodKmsClient`), which unwraps the DEK in the JVM from the per-dataset key
  passed in the read options.

Nothing is decrypted to disk by either engine. A plaintext `manifest.json` (authenticated with
an HMAC under a key derived from the dataset key) lists the file, its wrapped DEK, the schema,
the row count and the content hash.

Writing streams record batches (bounded memory: one row group at a time) into a staging folder
next to the destination, fsyncs, and renames it into place: a failure leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pyarrow.parquet.encryption as pqe

from domain.rawstore import _crypto
from domain.rawstore._sources import check_schema, open_source, rechunk
from domain.rawstore.errors import DatasetDamaged, DatasetExists, RawStoreError, SourceUnreadable

FORMAT = "aod-raw/1"
CIPHER = "parquet-modular-encryption/AES_GCM_V1/uniform/encrypted-footer"
MANIFEST = "manifest.json"
DATA_FILE = "part-00000.parquet"
ROW_GROUP_ROWS = 65_536
# DuckDB 2.0 cannot decrypt a column chunk holding more than one data page ("Computed AES tag
# differs"), so every column chunk is written as one dictionary page (never falling back to
# plain encoding part-way) and one data page. Row groups bound the page size.
WRITER_OPTIONS = {
    "compression": "zstd",
    "data_page_size": 1 << 30,
    "max_rows_per_page": ROW_GROUP_ROWS,
    "dictionary_pagesize_limit": 1 << 30,
}


@dataclass(frozen=True)
class RawDatasetInfo:
    rows: int
    columns: tuple[str, ...]
    dtypes: dict[str, str]
    sha256: str          # content hash: SHA-256 of the Arrow IPC stream of the data in fixed chunks
    files: tuple[str, ...]
    key_id: str


@dataclass(frozen=True)
class RawFile:
    path: Path
    rows: int
    dek: bytes = b""

    def __repr__(self) -> str:  # keys never appear in reprs, logs or tracebacks
        return f"RawFile(path={str(self.path)!r}, rows={self.rows})"


@dataclass(frozen=True)
class RawDataset:
    """An opened dataset: verified manifest and unwrapped keys, held in memory only."""

    directory: Path
    key_id: str
    rows: int
    columns: tuple[str, ...]
    dtypes: dict[str, str]
    sha256: str
    files: tuple[RawFile, ...]
    dataset_key: bytes = b""

    def __repr__(self) -> str:
        return f"RawDataset(directory={str(self.directory)!r}, rows={self.rows}, columns={self.columns})"

    def spark_read_options(self) -> dict[str, str]:
        """Hadoop options that make Spark decrypt this dataset in the JVM's memory."""
        import base64

        return {
            "parquet.crypto.factory.class":
                "org.apache.parquet.crypto.keytools.PropertiesDrivenCryptoFactory",
            "parquet.encryption.kms.client.class": "aod.rawstore.AodKmsClient",
            "parquet.encryption.key.access.token": self.key_id,
            "parquet.encryption.cache.lifetime.seconds": "60",
            "aod.rawstore.key.list": f"{self.key_id}:{base64.b64encode(self.dataset_key).decode()}",
        }


def _check_key(key: bytes) -> None:
    if not isinstance(key, (bytes, bytearray)) or len(key) != _crypto.KEY_BYTES:
        raise RawStoreError("a dataset key must be 32 bytes (AES-256)")


def write_dataset(source, dest_dir: Path | str, key: bytes) -> RawDatasetInfo:
    """Encrypt `source` (Table, RecordBatchReader or .parquet/.csv/.arrow path) into `dest_dir`."""
    _check_key(key)
    dest = Path(dest_dir)
    if dest.exists():
        raise DatasetExists(f"{dest.name} already exists in the raw store")
    if not dest.parent.is_dir():
        raise RawStoreError(f"the raw store folder for {dest.name} does not exist")
    schema, batches = open_source(source)
    check_schema(schema)
    staging = dest.parent / f".{dest.name}.staging-{uuid.uuid4().hex}"
    staging.mkdir(mode=0o700)
    try:
        manifest = _write_files(schema, batches, staging, bytes(key))
        _write_manifest(staging, manifest, bytes(key))
        _fsync_dir(staging)
        staging.rename(dest)
        _fsync_dir(dest.parent)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return RawDatasetInfo(
        rows=manifest["rows"], columns=tuple(c["name"] for c in manifest["columns"]),
        dtypes={c["name"]: c["type"] for c in manifest["columns"]},
        sha256=manifest["content_sha256"], files=(DATA_FILE,), key_id=manifest["key_id"],
    )


def _encryption_properties(key: bytes, key_id: str, captured: list[str]):
    class _WrapOnly(pqe.KmsClient):
        def __init__(self, _config):
            super().__init__()

        def wrap_key(self, key_bytes, master_key_identifier):
            wrapped = _crypto.wrap_key(key, master_key_identifier, bytes(key_bytes))
            captured.append(wrapped)
            return wrapped

        def unwrap_key(self, wrapped_key, master_key_identifier):
            raise RawStoreError("the raw store writer never unwraps keys")

    factory = pqe.CryptoFactory(lambda config: _WrapOnly(config))
    config = pqe.EncryptionConfiguration(
        footer_key=key_id, uniform_encryption=True, double_wrapping=False,
        plaintext_footer=False, encryption_algorithm="AES_GCM_V1", data_key_length_bits=256,
        internal_key_material=True,
    )
    return factory.file_encryption_properties(pqe.KmsConnectionConfig(), config)


def _write_files(schema: pa.Schema, batches, staging: Path, key: bytes) -> dict:
    key_id = _crypto.new_key_id()
    captured: list[str] = []
    props = _encryption_properties(key, key_id, captured)
    digest = hashlib.sha256()
    rows = 0
    path = staging / DATA_FILE
    try:
        with pq.ParquetWriter(path, schema, encryption_properties=props, **WRITER_OPTIONS) as writer, \
                pa.ipc.new_stream(_HashSink(digest), schema) as hasher:
            for batch in rechunk(batches, schema, ROW_GROUP_ROWS):
                writer.write_batch(batch, row_group_size=ROW_GROUP_ROWS)
                hasher.write_batch(batch)
                rows += batch.num_rows
    except pa.ArrowException as exc:
        raise SourceUnreadable(f"the source could not be read or encoded ({type(exc).__name__})") from None
    if len(captured) != 1:
        raise RawStoreError("the Parquet encryption layer did not wrap exactly one data key")
    _fsync_file(path)
    return {
        "format": FORMAT, "cipher": CIPHER, "key_id": key_id, "rows": rows,
        "columns": [{"name": f.name, "type": str(f.type)} for f in schema],
        "content_sha256": digest.hexdigest(),
        "files": [{"name": DATA_FILE, "rows": rows, "bytes": path.stat().st_size,
                   "wrapped_dek": captured[0]}],
    }


class _HashSink:
    """A file-like sink for the IPC writer that only hashes what it is given."""

    closed = False

    def __init__(self, digest):
        self.digest = digest

    def write(self, data) -> int:
        view = memoryview(data)
        self.digest.update(view)
        return view.nbytes

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


def _canonical(manifest: dict) -> bytes:
    body = {k: v for k, v in manifest.items() if k != "mac"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _write_manifest(folder: Path, manifest: dict, key: bytes) -> None:
    manifest = dict(manifest, mac=_crypto.manifest_mac(key, _canonical(manifest)))
    path = folder / MANIFEST
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    _fsync_file(path)


def read_manifest(directory: Path | str, key: bytes) -> dict:
    _check_key(key)
    directory = Path(directory)
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetDamaged(f"{directory.name} has no manifest (not a raw dataset)") from None
    except (ValueError, UnicodeDecodeError):
        raise DatasetDamaged(f"the manifest of {directory.name} is not valid JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise DatasetDamaged(f"{directory.name} is not in the {FORMAT} format")
    if not _crypto.check_manifest_mac(bytes(key), _canonical(manifest), manifest.get("mac", "")):
        raise DatasetDamaged(f"the manifest of {directory.name} does not verify (wrong key or tampering)")
    return manifest


def open_dataset(directory: Path | str, key: bytes) -> RawDataset:
    """Verify the manifest and unwrap the file keys; nothing is decrypted yet."""
    directory = Path(directory)
    manifest = read_manifest(directory, key)
    files = []
    for entry in manifest["files"]:
        path = directory / entry["name"]
        if path.parent != directory or not path.is_file() or path.stat().st_size != entry["bytes"]:
            raise DatasetDamaged(f"a data file of {directory.name} is missing or has the wrong size")
        try:
            dek = _crypto.unwrap_key(bytes(key), manifest["key_id"], entry["wrapped_dek"])
        except _crypto.KeyUnwrapFailed:
            raise DatasetDamaged(f"the file key of {directory.name} cannot be unwrapped") from None
        files.append(RawFile(path=path, rows=entry["rows"], dek=dek))
    return RawDataset(
        directory=directory, key_id=manifest["key_id"], rows=manifest["rows"],
        columns=tuple(c["name"] for c in manifest["columns"]),
        dtypes={c["name"]: c["type"] for c in manifest["columns"]},
        sha256=manifest["content_sha256"], files=tuple(files), dataset_key=bytes(key),
    )


def read_table(directory: Path | str, key: bytes, columns: list[str] | None = None) -> pa.Table:
    """Decrypt into this process's memory (for domain-internal checks and tests, never staff)."""
    dataset = open_dataset(directory, key)
    props = decryption_properties(dataset.dataset_key)
    return pa.concat_tables(
        pq.read_table(f.path, columns=columns, decryption_properties=props) for f in dataset.files
    )


def decryption_properties(dataset_key: bytes):
    """pyarrow decryption properties for a dataset's files (OpenSSL AES-GCM, in this process)."""
    factory = pqe.CryptoFactory(lambda config: _UnwrapOnly(bytes(dataset_key)))
    return factory.file_decryption_properties(pqe.KmsConnectionConfig())


class _UnwrapOnly(pqe.KmsClient):
    def __init__(self, key: bytes):
        super().__init__()
        self._key = key

    def wrap_key(self, key_bytes, master_key_identifier):
        raise RawStoreError("reading never wraps keys")

    def unwrap_key(self, wrapped_key, master_key_identifier):
        try:
            return _crypto.unwrap_key(self._key, master_key_identifier, wrapped_key)
        except _crypto.KeyUnwrapFailed:
            raise DatasetDamaged("a file key cannot be unwrapped (wrong key or tampering)") from None


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    _fsync_file(path)
