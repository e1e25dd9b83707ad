"""Routers of this layer, collected by the app factory."""

from __future__ import annotations

from typing import Any

ROUTES: list[Any] = []
from backend.api.stats import StatsController  # noqa: E402

ROUTES.append(StatsController)
from backend.api.audit import AuditController  # noqa: E402
from backend.api.months import MonthsController  # noqa: E402
from backend.api.review import EntryHistoryController, ReviewController  # noqa: E402

ROUTES += [ReviewController, EntryHistoryController, AuditController, MonthsController]
from backend.api.exports import ExportController, VerifyController  # noqa: E402

ROUTES += [ExportController, VerifyController]
from backend.api.rounds import RoundsController  # noqa: E402

ROUTES.append(RoundsController)
from backend.api.admin import AgreementsController, DeploymentsController, InstitutionsController  # noqa: E402
from backend.api.admin_imports import ImportsController  # noqa: E402
from backend.api.admin_users import DevicesController, ExpertsController, UsersController  # noqa: E402

ROUTES += [InstitutionsController, AgreementsController, DeploymentsController, UsersController, DevicesController,
           ExpertsController, ImportsController]
from backend.api.appraisals import AppraisalController  # noqa: E402
from backend.api.reports import AnnualReportController, SummaryController  # noqa: E402

ROUTES += [SummaryController, AnnualReportController, AppraisalController]
from backend.api.jobs import JobsController  # noqa: E402
from backend.api.notifications import MyNotificationsController, NotifyAdminController  # noqa: E402

ROUTES += [JobsController, NotifyAdminController, MyNotificationsController]
from backend.web import ROUTER as WEB_CONSOLE  # noqa: E402

ROUTES.append(WEB_CONSOLE)
