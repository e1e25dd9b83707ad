"""Routers of this layer, collected by the app factory."""

from __future__ import annotations

from typing import Any

ROUTES: list[Any] = []

from mobile_api.attachments import AttachmentController  # noqa: E402
from mobile_api.catalog import CatalogController  # noqa: E402
from mobile_api.entries import EntryController  # noqa: E402
from mobile_api.trainees import TraineeController  # noqa: E402

ROUTES += [CatalogController, EntryController, TraineeController, AttachmentController]
from mobile_api.review import EntryReviewController  # noqa: E402

ROUTES.append(EntryReviewController)
from mobile_api.summaries import MySummaryController, SelfAssessmentController  # noqa: E402

ROUTES += [MySummaryController, SelfAssessmentController]
