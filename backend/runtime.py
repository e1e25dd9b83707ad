"""Everything built once at start-up and handed to handlers: settings, database, token signer, storage."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.db.engine import make_engine, make_sessionmaker
from backend.security.tokens import TokenSigner
from backend.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    database_url: str
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    signer: TokenSigner
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, settings: Settings, database_url: str) -> Runtime:
        engine = make_engine(database_url, pool_size=settings.db_pool_size, pool_timeout=settings.db_pool_timeout)
        signer = TokenSigner(
            settings.jwt_keys,
            settings.jwt_active_kid,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            ttl=timedelta(minutes=settings.access_token_minutes),
        )
        return cls(settings, database_url, engine, make_sessionmaker(engine), signer)
