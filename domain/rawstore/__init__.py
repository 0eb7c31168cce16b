"""Raw datasets encrypted at rest (AES-256-GCM Parquet modular encryption), decrypted only
inside an engine (DuckDB or Spark). See `domain.rawstore.store` for the format."""

from domain.rawstore.cache import DecryptedCache, clear_cache, evict, evict_key, shared_cache
from domain.rawstore.errors import DatasetDamaged, DatasetExists, RawStoreError, SourceUnreadable
from domain.rawstore.store import (
    FORMAT,
    RawDataset,
    RawDatasetInfo,
    RawFile,
    open_dataset,
    read_table,
    write_dataset,
)

__all__ = [
    "DecryptedCache", "clear_cache", "evict", "evict_key", "shared_cache", "FORMAT", "DatasetDamaged", "DatasetExists", "RawDataset", "RawDatasetInfo", "RawFile",
    "RawStoreError", "SourceUnreadable", "open_dataset", "read_table", "write_dataset",
]
