"""The server side of the sync protocol: push (exactly-once, set-based), pull (snapshot cursors), device health."""
