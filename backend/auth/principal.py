"""Who is calling: the user, their roles and the institutions each role reaches."""

from __future__ import annotations

import uuid

import msgspec


class Principal(msgspec.Struct, kw_only=True, frozen=True):
    """The authenticated caller with the scopes every query must filter by."""

    user_id: uuid.UUID
    username: str
    name: str
    device_id: str | None
    session_id: uuid.UUID | None
    roles: frozenset[str]
    supervised: frozenset[uuid.UUID] = frozenset()
    hr_of: frozenset[uuid.UUID] = frozenset()
    home_institution_id: uuid.UUID | None = None

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @property
    def is_expert(self) -> bool:
        return "expert" in self.roles

    @property
    def is_supervisor(self) -> bool:
        return "supervisor" in self.roles

    @property
    def is_hr(self) -> bool:
        return "hr" in self.roles

    @property
    def primary_role(self) -> str:
        for role in ("admin", "supervisor", "hr", "expert"):
            if role in self.roles:
                return role
        return "none"
