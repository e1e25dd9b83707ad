"""The relational model. Every table is created by the Alembic migrations; the test suite compares both."""

from backend.models.audit import AuditEvent, AuditPending, MonthClosure
from backend.models.base import Base
from backend.models.core import (
    Agreement,
    AgreementTarget,
    Deployment,
    Device,
    Institution,
    LoginAttempt,
    RefreshToken,
    RoleGrant,
    SigningKeyFingerprint,
    User,
)
from backend.models.export import ExportFile, ExportJob, PromotionRound, VerifyCheck
from backend.models.notify import NotifyChannel, NotifyDelivery, NotifyPreference, NotifyRuleSetting
from backend.models.reports import Appraisal, IssuedReport, MonthlySummary
from backend.models.stats import StatRollup
from backend.models.sync import SyncFeed, SyncHorizon, SyncMutation
from backend.models.worklog import Attachment, Entry, EntryAttachment, EntryVersion, Trainee

__all__ = [
    "Agreement",
    "AgreementTarget",
    "Appraisal",
    "Attachment",
    "AuditEvent",
    "AuditPending",
    "Base",
    "Deployment",
    "Device",
    "Entry",
    "EntryAttachment",
    "EntryVersion",
    "ExportFile",
    "ExportJob",
    "IssuedReport",
    "Institution",
    "LoginAttempt",
    "MonthClosure",
    "MonthlySummary",
    "PromotionRound",
    "RefreshToken",
    "RoleGrant",
    "SigningKeyFingerprint",
    "StatRollup",
    "NotifyChannel",
    "NotifyDelivery",
    "NotifyPreference",
    "NotifyRuleSetting",
    "SyncFeed",
    "SyncHorizon",
    "SyncMutation",
    "Trainee",
    "User",
    "VerifyCheck",
]
