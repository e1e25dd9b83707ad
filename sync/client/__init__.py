"""The reference phone client, imported one way (each module only imports those listed before it):

- `transport`: the transport interface, its httpx implementation, the errors a phone must tell apart;
- `records`: a queued mutation, a local record, a mutation's local effect;
- `store`: the phone's SQLite database (records, numbered outbox, cursor) and its rules;
- `connection`: sign-in, token refresh, one request judged by its envelope, the sync config;
- `push`, `pull`: the two steps of a sync, each taking a `Connection`;
- `phone`: `SyncClient`, a `Connection` with the local edits and `sync()` = push, then pull.
"""
