"""Commands of later features register themselves here (audit verify, seed-synthetic, chaos, ...)."""
