"""Finding the supabase/ folder and reading its migrations."""

from pathlib import Path

import pytest

from mentor_notify.db import MigrationError, SupabaseLayout, find_supabase_dir


def make_layout(root: Path, *names: str) -> SupabaseLayout:
    (root / "migrations").mkdir(parents=True)
    for name in names:
        (root / "migrations" / name).write_text("select 1;")
    return SupabaseLayout(root)


def test_migrations_are_sorted_by_version_and_pair_with_their_rollback(tmp_path: Path) -> None:
    layout = make_layout(
        tmp_path, "20260102000000_second.sql", "20260101000000_first_one.sql", "README.md"
    )

    migrations = layout.migrations()

    assert [(m.version, m.name) for m in migrations] == [
        ("20260101000000", "first_one"),
        ("20260102000000", "second"),
    ]
    assert migrations[0].rollback_path == tmp_path / "rollbacks" / "20260101000000_first_one.sql"


def test_files_not_named_like_migrations_are_skipped(tmp_path: Path) -> None:
    layout = make_layout(tmp_path, "notes.sql", "20260101000000_ok.sql")

    assert [m.filename for m in layout.migrations()] == ["20260101000000_ok.sql"]


def test_duplicate_versions_are_refused(tmp_path: Path) -> None:
    layout = make_layout(tmp_path, "20260101000000_a.sql", "20260101000000_b.sql")

    with pytest.raises(MigrationError, match="share version 20260101000000"):
        layout.migrations()


def test_the_repository_folder_is_found_from_the_package() -> None:
    layout = find_supabase_dir()

    assert layout.migrations_dir.is_dir()
    assert layout.bootstrap_file.is_file()


def test_an_explicit_folder_wins_and_must_hold_migrations(tmp_path: Path) -> None:
    make_layout(tmp_path / "elsewhere")

    assert find_supabase_dir(tmp_path / "elsewhere").root == tmp_path / "elsewhere"
    with pytest.raises(MigrationError, match="no migrations/ folder"):
        find_supabase_dir(tmp_path)
