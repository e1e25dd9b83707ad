"""The schema is what the migrations build, and it matches the models exactly."""

from __future__ import annotations

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from backend.db.engine import plain_url
from backend.db.migrate import head_revision
from backend.models import Base
from backend.runtime import Runtime


async def test_migrations_produce_exactly_what_the_models_declare(runtime: Runtime) -> None:
    def diff(sync_conn: object) -> list[object]:
        ctx = MigrationContext.configure(sync_conn, opts={"compare_type": True, "compare_server_default": False})
        return compare_metadata(ctx, Base.metadata)

    async with runtime.engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == []


async def test_database_is_at_the_single_head(runtime: Runtime) -> None:
    async with runtime.engine.connect() as conn:
        version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
    assert version == head_revision()


async def test_database_refuses_values_outside_an_enum(db: Runtime) -> None:
    conn = await asyncpg.connect(plain_url(db.database_url))
    try:
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(
                "INSERT INTO institutions (id, code, name, kind, level) "
                "VALUES (gen_random_uuid(), 'X1', 'x', 'castle', 'secondary')"
            )
    finally:
        await conn.close()


async def test_audit_events_refuse_update_and_delete(db: Runtime) -> None:
    conn = await asyncpg.connect(plain_url(db.database_url))
    try:
        await conn.execute(
            "INSERT INTO audit_events (seq, action, object_type, object_id, detail, prev_hash, hash) "
            "VALUES (1, 'x', 'entry', 'e', '{}', repeat('0', 64), repeat('1', 64))"
        )
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("UPDATE audit_events SET action = 'y'")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("DELETE FROM audit_events")
    finally:
        await conn.close()
