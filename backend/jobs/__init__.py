"""One job engine on PostgreSQL (pgqueuer): queue, job definitions, workers. See backend/jobs/queue.py for why.

Enqueue from any service, inside its transaction: `await enqueue(session, "job.name", {...}, dedupe_key=...)`;
define a job with `Job(name, async fn(ctx, payload))`: the feature owns the name and the handler (e.g.
backend/export/jobs.py), the catalogue at the top (backend/job_catalog.py) registers it. This package imports no
feature.
"""

from backend.jobs.queue import enqueue
from backend.jobs.registry import Job, JobContext, Periodic, Registry

__all__ = ["Job", "JobContext", "Periodic", "Registry", "enqueue"]
