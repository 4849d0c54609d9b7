"""Applies the Alembic migrations in `storage/migrations` (on start and `opsbot db upgrade`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS_DIRECTORY = Path(__file__).with_name("migrations")


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIRECTORY))
    return config


def head_revision() -> str | None:
    """The newest migration shipped with this version of opsbot."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def upgrade_database(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema up to `revision`, on the caller's engine."""
    _migrate(engine, lambda config: command.upgrade(config, revision))


def downgrade_database(engine: Engine, revision: str) -> None:
    _migrate(engine, lambda config: command.downgrade(config, revision))


def _migrate(engine: Engine, run: Callable[[Config], None]) -> None:
    """Run migrations in one transaction; on SQLite with foreign keys off meanwhile.

    SQLite alters a table by copying it and dropping the old one (Alembic's batch
    mode), and with foreign keys on, dropping `members` would cascade and delete every
    row that refers to it. Alembic's documentation recommends turning them off around
    batch migrations; the PRAGMA only works outside a transaction, hence the driver.
    """
    config = alembic_config()
    with engine.connect() as connection:
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                run(config)
        finally:
            if sqlite:
                connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
