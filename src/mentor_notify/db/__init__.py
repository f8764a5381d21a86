"""Database access: connections, the shared pool, the embedded server, migrations, errors."""

from mentor_notify.db.catalog import ConstraintCatalog, ConstraintInfo
from mentor_notify.db.connect import (
    check_database_url,
    connect,
    resolve_database_url,
    use_database,
)
from mentor_notify.db.embedded import EmbeddedPostgres, embedded_postgres
from mentor_notify.db.errors import (
    CheckViolation,
    ConnectionFailed,
    ConstraintViolation,
    DatabaseError,
    ExclusionViolation,
    ForeignKeyViolation,
    InvalidDatabaseUrl,
    InvalidValue,
    MigrationError,
    NotNullViolation,
    PermissionDenied,
    TransactionConflict,
    UniqueViolation,
    translate,
    translating,
)
from mentor_notify.db.layout import Migration, SupabaseLayout, find_supabase_dir
from mentor_notify.db.migrations import MigrateResult, MigrationRunner, MigrationStatus
from mentor_notify.db.pool import Pool, create_pool, database_answers, open_pool
from mentor_notify.db.target import TargetInspection, inspect_target

__all__ = [
    "CheckViolation",
    "ConnectionFailed",
    "ConstraintCatalog",
    "ConstraintInfo",
    "ConstraintViolation",
    "DatabaseError",
    "EmbeddedPostgres",
    "ExclusionViolation",
    "ForeignKeyViolation",
    "InvalidDatabaseUrl",
    "InvalidValue",
    "MigrateResult",
    "Migration",
    "MigrationError",
    "MigrationRunner",
    "MigrationStatus",
    "NotNullViolation",
    "PermissionDenied",
    "Pool",
    "SupabaseLayout",
    "TargetInspection",
    "TransactionConflict",
    "UniqueViolation",
    "check_database_url",
    "connect",
    "create_pool",
    "database_answers",
    "embedded_postgres",
    "find_supabase_dir",
    "inspect_target",
    "open_pool",
    "resolve_database_url",
    "translate",
    "translating",
    "use_database",
]
