"""Control-plane schema of domain/, as ordered migrations (never edit a shipped one)."""

MIGRATIONS: list[str] = [
    """
    CREATE TABLE operators (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        credit_code TEXT NOT NULL UNIQUE,
        contact TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE principals (
        id TEXT PRIMARY KEY,
        display_name TEXT NOT NULL,
        role TEXT NOT NULL,
        org TEXT,
        status TEXT NOT NULL,
        realname_verified_on TEXT,
        realname_method TEXT,
        nda_signed_on TEXT,
        nda_expires_on TEXT,
        training_passed_on TEXT,
        password_hash TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE tokens (
        token_hash TEXT PRIMARY KEY,
        principal_id TEXT NOT NULL REFERENCES principals(id),
        purpose TEXT NOT NULL,
        issued_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        revoked_at TEXT
    );
    CREATE INDEX tokens_by_principal ON tokens(principal_id);
    CREATE TABLE data_keys (
        purpose TEXT NOT NULL,
        owner TEXT NOT NULL,
        wrapped BLOB NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (purpose, owner)
    );
    CREATE TABLE datasets (
        name TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        provider TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        source_format TEXT NOT NULL,
        update_frequency TEXT NOT NULL,
        open_attribute TEXT NOT NULL,
        grade TEXT,
        privacy_unit TEXT,
        min_group_size INTEGER NOT NULL,
        suppress_below INTEGER NOT NULL,
        round_to INTEGER NOT NULL,
        status TEXT NOT NULL,
        rows INTEGER NOT NULL,
        content_sha256 TEXT NOT NULL,
        classification TEXT NOT NULL,
        confirmed_by TEXT,
        confirmed_at TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE dataset_columns (
        dataset TEXT NOT NULL REFERENCES datasets(name),
        position INTEGER NOT NULL,
        name TEXT NOT NULL,
        dtype TEXT NOT NULL,
        class TEXT NOT NULL,
        entity TEXT,
        PRIMARY KEY (dataset, name)
    );
    CREATE TABLE grants (
        id TEXT PRIMARY KEY,
        operator_id TEXT NOT NULL REFERENCES operators(id),
        scenario TEXT NOT NULL,
        purpose TEXT NOT NULL DEFAULT '',
        emergency_plan TEXT NOT NULL,
        starts_on TEXT NOT NULL,
        expires_on TEXT NOT NULL,
        status TEXT NOT NULL,
        status_reason TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX grants_by_operator ON grants(operator_id);
    CREATE TABLE grant_columns (
        grant_id TEXT NOT NULL REFERENCES grants(id),
        dataset TEXT NOT NULL REFERENCES datasets(name),
        column_name TEXT NOT NULL,
        PRIMARY KEY (grant_id, dataset, column_name)
    );
    """,
    """
    CREATE TABLE login_failures (
        key TEXT PRIMARY KEY,
        failures INTEGER NOT NULL,
        locked_until TEXT,
        last_failed_at TEXT NOT NULL
    );
    CREATE INDEX login_failures_by_time ON login_failures(last_failed_at);
    """,
]
