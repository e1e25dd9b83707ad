"""Workload statistics: an expert's period, a hospital's or an agreement's year (docs/statistics.md)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency, Provide
from litestar.params import Parameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.principal import Principal
from backend.http.params import Year
from backend.http.problems import problem_responses
from backend.runtime import Runtime
from backend.service_time import ServiceRules
from backend.stats.expert import ExpertStats, expert_stats
from backend.stats.hospital import AgreementStats, InstitutionStats, agreement_stats, institution_stats
from backend.worklog.rules import local_today


def service_rules_of(runtime: Runtime) -> ServiceRules:
    """The service-time rules (FIELDLOG_SERVICE_*), validated with the other settings at start-up."""
    return runtime.settings.service_rules


async def provide_rules(runtime: NamedDependency[Runtime]) -> ServiceRules:
    return service_rules_of(runtime)


def today_of(runtime: Runtime) -> date:
    # Work dates are local calendar days, so "today" is the service's local day, not UTC's.
    return local_today(runtime.settings.timezone, datetime.now(UTC))


class StatsController(Controller):
    path = "/api/v1/stats"
    tags = ["statistics"]
    dependencies = {"rules": Provide(provide_rules)}

    @get("/experts/{expert_id:uuid}", operation_id="get_expert_stats",
         summary="An expert's approved workload by month, pending apart, and service time toward promotion",
         responses=problem_responses(400, 401, 404, 422))
    async def expert(
        self, expert_id: uuid.UUID, db: AsyncSession, principal: Principal, runtime: Runtime, rules: ServiceRules,
        from_: Annotated[date | None, QueryParameter(name="from", description="first day (its whole month counts)")] = None,
        to: Annotated[date | None, Parameter(description="last day (its whole month counts); default today")] = None,
    ) -> ExpertStats:
        return await expert_stats(db, principal, expert_id, first=from_, last=to, today=today_of(runtime),
                                  rules=rules)

    @get("/institutions/{institution_id:uuid}", operation_id="get_institution_stats",
         summary="A recipient hospital's year (stationing, gaps, targets) or a supporting hospital's dispatch",
         responses=problem_responses(400, 401, 404, 422))
    async def institution(
        self, institution_id: uuid.UUID, db: AsyncSession, principal: Principal, runtime: Runtime,
        year: Year = None,
    ) -> InstitutionStats:
        today = today_of(runtime)
        return await institution_stats(db, principal, institution_id, year=year or today.year, today=today)

    @get("/agreements/{agreement_id:uuid}", operation_id="get_agreement_stats",
         summary="An agreement's year: stationing, gaps, trainees, new techniques against its targets",
         responses=problem_responses(400, 401, 404, 422))
    async def agreement(
        self, agreement_id: uuid.UUID, db: AsyncSession, principal: Principal, runtime: Runtime,
        year: Year = None,
    ) -> AgreementStats:
        today = today_of(runtime)
        return await agreement_stats(db, principal, agreement_id, year=year or today.year, today=today)
