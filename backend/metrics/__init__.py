"""Prometheus metrics of a node: what it is doing, and what the database it depends on holds in its queues.

`series` defines every series; `http` counts requests by route template and serves the protected `/metrics`;
`pool` makes the database pool's in-use and waiting counts visible; `collect` reads queue tables at scrape time.
"""
