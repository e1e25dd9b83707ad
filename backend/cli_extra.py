"""Commands of later features register themselves here (audit verify, seed-synthetic, chaos, ...)."""
import backend.audit.cli  # noqa: F401,E402  - fieldlog audit verify
import backend.stats.cli  # noqa: F401,E402  - fieldlog stats check / rebuild
import backend.synthetic  # noqa: F401,E402  - fieldlog seed-synthetic
