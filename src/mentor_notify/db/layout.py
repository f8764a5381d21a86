"""The project's `supabase/` folder: migrations, their rollbacks, the bootstrap.

Layout (Supabase CLI conventions, plus rollbacks and the local bootstrap)::

    supabase/migrations/<version>_<name>.sql   applied in version order
    supabase/rollbacks/<version>_<name>.sql    undoes the migration of the same file name
    supabase/local/bootstrap.sql               makes plain PostgreSQL look like Supabase
    supabase/seed.sql                          demo data (`supabase db reset` loads it too)
"""

import re
from dataclasses import dataclass
from pathlib import Path

import structlog

from mentor_notify.db.errors import MigrationError

# The Supabase CLI's own pattern: digits, underscore, name. Other files in the
# folder are skipped (with a warning), as the CLI does.
_MIGRATION_FILE = re.compile(r"^(?P<version>[0-9]+)_(?P<name>.+)\.sql$")

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Migration:
    """One migration file and where its rollback lives."""

    version: str
    name: str
    path: Path
    rollback_path: Path

    @property
    def filename(self) -> str:
        """The file name, shared by the migration and its rollback."""
        return self.path.name


@dataclass(frozen=True)
class SupabaseLayout:
    """A `supabase/` folder."""

    root: Path

    @property
    def migrations_dir(self) -> Path:
        """Folder of the up-migrations."""
        return self.root / "migrations"

    @property
    def rollbacks_dir(self) -> Path:
        """Folder of the down-migrations."""
        return self.root / "rollbacks"

    @property
    def bootstrap_file(self) -> Path:
        """The local bootstrap for plain PostgreSQL."""
        return self.root / "local" / "bootstrap.sql"

    @property
    def seed_file(self) -> Path:
        """The demo data, loaded after the migrations."""
        return self.root / "seed.sql"

    def migrations(self) -> list[Migration]:
        """All migrations, oldest first. Raises `MigrationError` on a duplicate version."""
        found: dict[str, Migration] = {}
        for path in sorted(self.migrations_dir.glob("*.sql")):
            match = _MIGRATION_FILE.match(path.name)
            if not match:
                log.warning("skipping migration file with a malformed name", file=path.name)
                continue
            version = match["version"]
            if version in found:
                raise MigrationError(
                    f"migrations {found[version].filename} and {path.name} share version {version}"
                )
            found[version] = Migration(
                version=version,
                name=match["name"],
                path=path,
                rollback_path=self.rollbacks_dir / path.name,
            )
        return [found[v] for v in sorted(found)]


def find_supabase_dir(explicit: Path | None = None) -> SupabaseLayout:
    """Locate the `supabase/` folder.

    `explicit` (the MENTOR_NOTIFY_SUPABASE_DIR setting) wins; otherwise the
    first `supabase/` with a `migrations/` folder found walking up from this
    package (a source checkout), then from the current directory.
    """
    if explicit is not None:
        if not (explicit / "migrations").is_dir():
            raise MigrationError(f"{explicit} has no migrations/ folder")
        return SupabaseLayout(explicit)
    for start in (Path(__file__).resolve().parent, Path.cwd().resolve()):
        for folder in (start, *start.parents):
            candidate = folder / "supabase"
            if (candidate / "migrations").is_dir():
                return SupabaseLayout(candidate)
    raise MigrationError(
        "cannot find the supabase/ folder with the migrations; "
        "set MENTOR_NOTIFY_SUPABASE_DIR to its path"
    )
