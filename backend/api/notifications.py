"""Notifications: admins configure robots and rules per institution and read the delivery log; everyone sets
their own preferences. Secrets are write-only."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from litestar import Controller, delete, get, put
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from backend.api.admin import ADMIN
from backend.auth.principal import Principal
from backend.http.problems import problem_responses
from backend.notifications import admin as service
from backend.notifications import schemas as s
from backend.runtime import Runtime

READ = problem_responses(400, 401, 403)
ONE = problem_responses(400, 401, 403, 404)
WRITE = problem_responses(400, 401, 403, 404, 413, 415, 422)


class NotifyAdminController(Controller):
    path = "/api/v1/admin/notifications"
    tags = ["admin"]
    dependencies = ADMIN

    @get("/channels", operation_id="admin_list_notify_channels", responses=READ,
         summary="Robots and webhooks configured per institution (URLs masked, secrets never shown)")
    async def channels(self, db: AsyncSession, admin: Principal,
                       institution_id: uuid.UUID | None = None) -> list[s.Channel]:
        return await service.list_channels(db, institution_id)

    @put("/channels/{institution_id:uuid}/{channel_kind:str}", operation_id="admin_put_notify_channel",
         responses=WRITE, summary="Set an institution's WeCom or DingTalk robot or signed webhook (https, public "
         "address; secret write-only)")
    async def put_channel(self, institution_id: uuid.UUID, channel_kind: str, data: s.ChannelPut,
                          db: AsyncSession, admin: Principal, runtime: Runtime) -> s.Channel:
        return await service.put_channel(db, admin, runtime.settings, institution_id, channel_kind, data)

    @delete("/channels/{institution_id:uuid}/{channel_kind:str}", operation_id="admin_delete_notify_channel",
            responses=ONE, summary="Remove an institution's robot or webhook", status_code=204)
    async def delete_channel(self, institution_id: uuid.UUID, channel_kind: str, db: AsyncSession,
                             admin: Principal) -> None:
        await service.delete_channel(db, admin, institution_id, channel_kind)

    @get("/rules/{institution_id:uuid}", operation_id="admin_list_notify_rules", responses=ONE,
         summary="Each reminder and digest rule at an institution, as it is in force")
    async def rules(self, institution_id: uuid.UUID, db: AsyncSession, admin: Principal) -> list[s.RuleView]:
        return await service.list_rules(db, institution_id)

    @put("/rules/{institution_id:uuid}/{rule:str}", operation_id="admin_put_notify_rule", responses=WRITE,
         summary="Set a rule at an institution: on/off, threshold days, hour, quiet hours, weekends, time zone")
    async def put_rule(self, institution_id: uuid.UUID, rule: str, data: s.RulePut, db: AsyncSession,
                       admin: Principal) -> s.RuleView:
        return await service.put_rule(db, admin, institution_id, rule, data)

    @get("/deliveries", operation_id="admin_list_notify_deliveries", responses=READ,
         summary="The delivery log, newest first: rule, recipient, channel, status and why, attempts, answer")
    async def deliveries(self, db: AsyncSession, admin: Principal,
                         status: Literal["pending", "sent", "failed", "suppressed"] | None = None,
                         rule: s.Rule | None = None,
                         limit: Annotated[int, Parameter(ge=1, le=500)] = 100) -> s.DeliveryPage:
        return await service.deliveries(db, status=status, rule=rule, limit=limit)


class MyNotificationsController(Controller):
    path = "/api/v1/me/notifications"
    tags = ["notifications"]

    @get("/", operation_id="get_my_notification_preferences", responses=problem_responses(401),
         summary="The caller's channel and digest opt-out")
    async def get_mine(self, db: AsyncSession, principal: Principal) -> s.Preferences:
        return await service.get_preferences(db, principal)

    @put("/", operation_id="put_my_notification_preferences", responses=problem_responses(400, 401, 413, 415, 422),
         summary="Choose a channel (auto, wecom, dingtalk, webhook, email) and opt out of digests "
         "(returned-work notices always come)")
    async def put_mine(self, data: s.Preferences, db: AsyncSession, principal: Principal) -> s.Preferences:
        return await service.put_preferences(db, principal, data)
