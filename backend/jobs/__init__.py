"""One job engine on PostgreSQL (pgqueuer): queue, job definitions, workers. See backend/jobs/queue.py for why.

Enqueue from any service, inside its transaction: `await enqueue(session, "job.name", {...}, dedupe_key=...)`;
define a job with `Job(name, async fn(ctx, payload))` and add it to the registry in backend/jobs/catalog.py.
"""

from backend.jobs.queue import enqueue
from backend.jobs.registry import Job, JobContext, Periodic, Registry

__all__ = ["Job", "JobContext", "Periodic", "Registry", "enqueue"]
