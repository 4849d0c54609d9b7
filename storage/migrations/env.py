"""Alembic environment: runs on the connection opsbot hands over, or on `sqlalchemy.url`.

`opsbot db upgrade` and the start-up upgrade pass their own connection (so SQLite gets
its WAL and foreign-key settings); `alembic -c alembic.ini …` from a checkout uses the
URL from `OPSBOT_DATABASE_URL` or alembic.ini.
"""

from __future__ import annotations

import os

from alembic import context
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from storage.db import create_engine_for

target_metadata = SQLModel.metadata


def _configure(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    url = os.environ.get("OPSBOT_DATABASE_URL") or context.config.get_main_option("sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    if url is None:
        raise RuntimeError("set OPSBOT_DATABASE_URL or sqlalchemy.url in alembic.ini")
    engine = create_engine_for(url)
    with engine.begin() as connection:
        _configure(connection)


run()
