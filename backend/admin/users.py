"""Creating users and their role grants (CLI and admin API share this)."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import vocab
from backend.errors import Conflict, FieldError, InvalidInput
from backend.models import Institution, RoleGrant, User
from backend.security.passwords import check_password_strength, hash_password


async def institution_id_by_code(session: AsyncSession, code: str, field: str) -> uuid.UUID:
    found = (await session.execute(select(Institution.id).where(Institution.code == code))).scalar_one_or_none()
    if found is None:
        raise InvalidInput(errors=[FieldError(field=field, code="unknown_institution",
                                              message=f"No institution has the code {code!r}")])
    return found


async def create_user(
    session: AsyncSession,
    *,
    username: str,
    name: str,
    password: str,
    roles: list[tuple[str, uuid.UUID | None]],
    title: str | None = None,
    specialty: str | None = None,
    phone: str | None = None,
    home_institution_id: uuid.UUID | None = None,
    password_hash: str | None = None,
) -> User:
    """Create a user with role grants; every problem is reported field by field before anything is written.

    `password_hash`, when given, is the already computed hash of `password` (bulk imports hash in parallel).
    """
    errors: list[FieldError] = []
    username = username.strip().lower()
    if (await session.execute(select(User.id).where(User.username == username))).first():
        raise Conflict(f"The username {username!r} is taken", extra={"reason": "username_taken"})
    if (weak := check_password_strength(password)) is not None:
        errors.append(FieldError(field="password", code="weak_password", message=weak))
    if title is not None and title not in vocab.TITLES:
        errors.append(FieldError(field="title", code="invalid_choice", message=f"Unknown title {title!r}"))
    for i, (role, inst) in enumerate(roles):
        if role not in vocab.ROLES:
            errors.append(FieldError(field=f"roles[{i}].role", code="invalid_choice", message=f"Unknown role {role!r}"))
        elif (role in vocab.SCOPED_ROLES) != (inst is not None):
            errors.append(FieldError(field=f"roles[{i}].institution_id", code="scope",
                                     message=f"Role {role} {'needs' if role in vocab.SCOPED_ROLES else 'takes no'} institution"))
    if errors:
        raise InvalidInput(errors=errors)
    # Argon2 costs tens of milliseconds of CPU: off the event loop, so a roster import does not stall other requests.
    if password_hash is None:
        password_hash = await asyncio.to_thread(hash_password, password)
    user = User(id=uuid.uuid4(), username=username, name=name, password_hash=password_hash, title=title,
                specialty=specialty, phone=phone, home_institution_id=home_institution_id)
    session.add(user)
    await session.flush()
    for role, inst in roles:
        session.add(RoleGrant(user_id=user.id, role=role, institution_id=inst))
    await session.flush()
    return user


async def create_user_cli(
    session: AsyncSession, username: str, name: str, role_args: list[str], title: str | None, home: str | None,
    password: str,
) -> str:
    roles: list[tuple[str, uuid.UUID | None]] = []
    for arg in role_args:
        role, _, code = arg.partition(":")
        roles.append((role, await institution_id_by_code(session, code, "role") if code else None))
    home_id = await institution_id_by_code(session, home, "home") if home else None
    user = await create_user(session, username=username, name=name, password=password, roles=roles, title=title,
                             home_institution_id=home_id)
    return f"created user {user.username} ({user.id}) with roles {', '.join(role_args)}"
