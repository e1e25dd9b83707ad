"""User accounts as the admin manages them: profile, active flag, password, role grants, devices."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend import vocab
from backend.admin import schemas as s
from backend.admin.common import changed, count_of, fail_if, flush_unique, snapshot
from backend.admin.rules import SUPPORTING, clamp_page
from backend.admin.users import create_user
from backend.audit.writer import record
from backend.auth.principal import Principal
from backend.errors import Conflict, FieldError, NotFound
from backend.models import Device, Institution, RefreshToken, RoleGrant, SyncMutation, User
from backend.security.passwords import check_password_strength, hash_password


async def user_views(session: AsyncSession, users: list[User]) -> list[s.User]:
    """Views of users with their grants, devices and home names, in three queries whatever the count."""
    ids = [u.id for u in users]
    grants = (await session.execute(
        select(RoleGrant, Institution.name).outerjoin(Institution, Institution.id == RoleGrant.institution_id)
        .where(RoleGrant.user_id.in_(ids)).order_by(RoleGrant.role, Institution.name))).all()
    devices = (await session.execute(select(Device).where(Device.user_id.in_(ids))
                                     .order_by(Device.registered_at))).scalars().all()
    homes = dict((await session.execute(select(Institution.id, Institution.name).where(
        Institution.id.in_({u.home_institution_id for u in users if u.home_institution_id})))).all())
    by_user: dict[uuid.UUID, list[s.RoleGrant]] = {i: [] for i in ids}
    for g, inst_name in grants:
        by_user[g.user_id].append(s.RoleGrant(id=g.id, role=g.role, label_zh=vocab.ROLES[g.role],
                                              institution_id=g.institution_id, institution_name=inst_name))
    devs: dict[uuid.UUID, list[s.DeviceInfo]] = {i: [] for i in ids}
    for d in devices:
        devs[d.user_id].append(s.DeviceInfo(id=d.id, registered_at=d.registered_at, last_seen_at=d.last_seen_at,
                                            last_sync_at=d.last_sync_at, app_version=d.app_version))
    return [s.User(id=u.id, username=u.username, name=u.name, phone=u.phone, title=u.title,
                   title_label_zh=vocab.TITLES.get(u.title) if u.title else None, specialty=u.specialty,
                   home_institution_id=u.home_institution_id, home_institution_name=homes.get(u.home_institution_id),
                   is_active=u.is_active, disabled_at=u.disabled_at, roles=by_user[u.id], devices=devs[u.id],
                   created_at=u.created_at) for u in users]


async def _load(session: AsyncSession, user_id: uuid.UUID, *, lock: bool = False) -> User:
    query = select(User).where(User.id == user_id).execution_options(populate_existing=True)
    user = (await session.execute(query.with_for_update() if lock else query)).scalar_one_or_none()
    if user is None:
        raise NotFound("No such user")
    return user


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> s.User:
    return (await user_views(session, [await _load(session, user_id)]))[0]


async def list_users(session: AsyncSession, *, q: str | None = None, role: str | None = None,
                     institution_id: uuid.UUID | None = None, active: bool | None = None, limit: int = 50,
                     offset: int = 0) -> s.UserPage:
    """Users by name/username search, role, institution (home or role scope) and active flag."""
    limit, offset = clamp_page(limit, offset)
    query = select(User)
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(User.name.ilike(pattern), User.username.ilike(pattern), User.phone.ilike(pattern)))
    if role is not None:
        query = query.where(exists().where(RoleGrant.user_id == User.id, RoleGrant.role == role))
    if institution_id is not None:
        query = query.where(or_(User.home_institution_id == institution_id, exists().where(
            RoleGrant.user_id == User.id, RoleGrant.institution_id == institution_id)))
    if active is not None:
        query = query.where(User.is_active.is_(active))
    total = await count_of(session, query)
    users = list((await session.execute(query.order_by(User.username).limit(limit).offset(offset))).scalars().all())
    return s.UserPage(items=await user_views(session, users), total=total, limit=limit, offset=offset)


async def scope_errors(session: AsyncSession, home_id: uuid.UUID | None, roles: list[tuple[str, uuid.UUID | None]],
                       *, role_field: str = "roles") -> list[FieldError]:
    """The home and every scoped grant name an existing institution; a supervisor's is a recipient."""
    wanted = {i for _, i in roles if i} | ({home_id} if home_id else set())
    kinds = dict((await session.execute(select(Institution.id, Institution.kind).where(Institution.id.in_(wanted)))).all())
    errors: list[FieldError] = []
    if home_id is not None and home_id not in kinds:
        errors.append(FieldError(field="home_institution_id", code="not_found", message="No such institution"))
    for i, (role, inst) in enumerate(roles):
        field = f"{role_field}[{i}].institution_id" if role_field == "roles" else "institution_id"
        if inst is not None and inst not in kinds:
            errors.append(FieldError(field=field, code="not_found", message="No such institution"))
        elif role == "supervisor" and kinds.get(inst) == SUPPORTING:
            errors.append(FieldError(field=field, code="not_recipient",
                                     message="A supervisor reviews at a recipient institution"))
    return errors


async def create_account(session: AsyncSession, actor: Principal | None, data: s.UserCreate, *,
                         password_hash: str | None = None, audited: bool = True) -> s.User:
    """Create a user with grants through the same path as `fieldlog create-user`."""
    roles = [(r.role, r.institution_id) for r in data.roles]
    fail_if(await scope_errors(session, data.home_institution_id, roles))
    user = await create_user(session, username=data.username, name=data.name.strip(), password=data.password,
                             roles=roles, title=data.title, specialty=data.specialty, phone=data.phone,
                             home_institution_id=data.home_institution_id, password_hash=password_hash)
    result = await get_user(session, user.id)
    if audited:
        await record(session, actor, "create", "user", user.id, after=snapshot(result, "devices"),
                     institution_id=data.home_institution_id)
    return result


async def update_user(session: AsyncSession, actor: Principal | None, user_id: uuid.UUID,
                      data: s.UserUpdate) -> s.User:
    user = await _load(session, user_id, lock=True)
    before = (await user_views(session, [user]))[0]
    fields = changed(data)
    if fields.get("home_institution_id") is not None:
        fail_if(await scope_errors(session, fields["home_institution_id"], []))
    if "title" in fields and fields["title"] is not None and fields["title"] not in vocab.TITLES:
        fail_if([FieldError(field="title", code="invalid_choice", message=f"Unknown title {fields['title']!r}")])
    for key, value in fields.items():
        setattr(user, key, value.strip() if key == "name" else value)
    await session.flush()
    result = await get_user(session, user_id)
    await record(session, actor, "update", "user", user_id, before=snapshot(before, "devices"),
                 after=snapshot(result, "devices"), institution_id=user.home_institution_id)
    return result


async def _revoke_sessions(session: AsyncSession, user_id: uuid.UUID, reason: str) -> None:
    # load_principal requires a live refresh token of the access token's session: revoking them all
    # stops every access token of the user at once, not when it expires.
    await session.execute(update(RefreshToken).where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
                          .values(revoked_at=datetime.now(UTC), revoked_reason=reason))


async def set_active(session: AsyncSession, actor: Principal, user_id: uuid.UUID, active: bool) -> s.User:
    """Disable (every token dies now; their work stays) or enable a user."""
    if not active and user_id == actor.user_id:
        raise Conflict("You cannot disable your own account", extra={"reason": "self"})
    user = await _load(session, user_id, lock=True)
    was = user.is_active
    user.is_active = active
    user.disabled_at = None if active else (user.disabled_at or datetime.now(UTC))
    if not active:
        await _revoke_sessions(session, user_id, "user_disabled")
    await session.flush()
    if was != active:
        await record(session, actor, "enable" if active else "disable", "user", user_id,
                     before={"is_active": was}, after={"is_active": active}, institution_id=user.home_institution_id)
    return await get_user(session, user_id)


async def reset_password(session: AsyncSession, actor: Principal, user_id: uuid.UUID, password: str) -> None:
    """Set a new password and sign the user out everywhere."""
    if (weak := check_password_strength(password)) is not None:
        fail_if([FieldError(field="password", code="weak_password", message=weak)])
    user = await _load(session, user_id, lock=True)
    user.password_hash = await asyncio.to_thread(hash_password, password)
    await _revoke_sessions(session, user_id, "password_reset")
    await session.flush()
    await record(session, actor, "reset_password", "user", user_id, institution_id=user.home_institution_id)


async def grant_role(session: AsyncSession, actor: Principal, user_id: uuid.UUID, data: s.RoleGrantCreate) -> s.RoleGrant:
    """Add a role (scoped to an institution for supervisor and HR); it applies on the user's next request."""
    user = await _load(session, user_id)
    scoped = data.role in vocab.SCOPED_ROLES
    if scoped != (data.institution_id is not None):
        fail_if([FieldError(field="institution_id", code="scope",
                            message=f"Role {data.role} {'needs' if scoped else 'takes no'} institution")])
    fail_if(await scope_errors(session, None, [(data.role, data.institution_id)], role_field="institution_id"))
    grant = RoleGrant(id=uuid.uuid4(), user_id=user.id, role=data.role, institution_id=data.institution_id)
    session.add(grant)
    await flush_unique(session, "The user already holds this role with this scope", "already_granted")
    name = (await session.execute(select(Institution.name).where(Institution.id == data.institution_id))
            ).scalar_one_or_none()
    result = s.RoleGrant(id=grant.id, role=grant.role, label_zh=vocab.ROLES[grant.role],
                         institution_id=grant.institution_id, institution_name=name)
    await record(session, actor, "grant_role", "user", user_id, after=snapshot(result),
                 institution_id=data.institution_id)
    return result


async def revoke_role(session: AsyncSession, actor: Principal, user_id: uuid.UUID, grant_id: uuid.UUID) -> None:
    grant = (await session.execute(select(RoleGrant).where(RoleGrant.id == grant_id, RoleGrant.user_id == user_id))
             ).scalar_one_or_none()
    if grant is None:
        raise NotFound("No such role grant")
    if grant.role == "admin" and user_id == actor.user_id:
        raise Conflict("You cannot revoke your own admin role", extra={"reason": "self"})
    before = {"role": grant.role, "institution_id": str(grant.institution_id) if grant.institution_id else None}
    await session.delete(grant)
    await session.flush()
    await record(session, actor, "revoke_role", "user", user_id, before=before, institution_id=grant.institution_id)


async def release_device(session: AsyncSession, actor: Principal, device_id: str) -> None:
    """Unregister a phone so another user can sign in on it; its sessions end at once.

    The old registration's sync history (the exactly-once record of its mutations) is kept under an archived
    device id, so the phone's id is free again and a new user's mutation 1 is not mistaken for the old one's.
    """
    device = await session.get(Device, device_id, with_for_update=True)
    if device is None:
        raise NotFound("No such device")
    archived = f"released-{uuid.uuid4().hex}"
    session.add(Device(id=archived, user_id=device.user_id, registered_at=device.registered_at,
                       last_seen_at=device.last_seen_at, last_sync_at=device.last_sync_at,
                       last_device_time=device.last_device_time, clock_skew_ms=device.clock_skew_ms,
                       pending_count=device.pending_count, oldest_pending_at=device.oldest_pending_at,
                       app_version=device.app_version, last_ack_seq=device.last_ack_seq))
    await session.flush()
    await session.execute(update(SyncMutation).where(SyncMutation.device_id == device_id).values(device_id=archived))
    await session.execute(update(RefreshToken).where(RefreshToken.device_id == device_id)
                          .values(device_id=archived, revoked_at=func.now(), revoked_reason="device_released"))
    await session.delete(device)
    await session.flush()
    await record(session, actor, "release_device", "device", device_id, before={"user_id": str(device.user_id)})
