"""Settings read from environment variables once at start-up and validated with clear messages."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from backend.service_time import ServiceRules


class SettingsError(ValueError):
    """A setting has a value the service cannot run with."""


class Settings(msgspec.Struct, kw_only=True, frozen=True):
    """Every knob of the service; see the README's configuration table."""

    database_url: str | None = None
    data_dir: Path = Path("var")
    host: str = "127.0.0.1"
    port: int = 8000
    timezone: str = "Asia/Shanghai"
    jwt_keys: dict[str, str] = msgspec.field(default_factory=dict)
    jwt_active_kid: str = "k1"
    jwt_issuer: str = "fieldlog"
    jwt_audience: str = "fieldlog-api"
    access_token_minutes: int = 15
    refresh_token_days: int = 30
    login_max_failures: int = 5
    login_window_seconds: int = 900
    # Failed sign-ins from one address (any account) before it is refused; a county hospital may share one NAT.
    login_max_failures_per_address: int = 20
    # Failed sign-ins to one account (any address) before devices not yet registered to it are refused.
    login_max_failures_per_account: int = 50
    login_max_delay_ms: int = 3000
    # Peers (IP addresses or networks) whose X-Forwarded-For / X-Forwarded-Proto are believed; none: the socket peer.
    trusted_proxies: tuple[str, ...] = ()
    max_body_bytes: int = 1024 * 1024
    sync_max_body_bytes: int = 4 * 1024 * 1024
    sync_max_expanded_bytes: int = 16 * 1024 * 1024
    sync_max_batch: int = 500
    tombstone_days: int = 180
    entry_grace_days: int = 30
    review_overdue_days: int = 14
    record_number_key: str = ""
    storage_backend: str = "disk"
    storage_dir: Path = Path("var/files")
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_prefix: str = ""
    s3_part_size: int = 8 * 1024 * 1024
    attachment_max_bytes: int = 20 * 1024 * 1024
    attachment_types: tuple[str, ...] = ("image/jpeg", "image/png", "image/heic", "image/webp", "application/pdf")
    public_base_url: str = "http://127.0.0.1:8000"
    # False: public_base_url was derived from host and port, and follows the address `fieldlog serve` listens on.
    public_base_url_given: bool = False
    log_level: str = "INFO"
    db_pool_size: int = 10
    db_pool_timeout: int = 10
    metrics_token: str | None = None
    max_inflight_requests: int = 256
    service_rules: ServiceRules = msgspec.field(default_factory=ServiceRules)
    # Background jobs (backend/jobs) and notifications (backend/notifications).
    worker_in_process: bool = False
    worker_concurrency: int = 4
    job_heartbeat_seconds: int = 30
    notify_allow_hosts: tuple[str, ...] = ()
    notify_timeout_seconds: int = 10
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "fieldlog@localhost"
    smtp_starttls: bool = True
    smtp_ca_file: Path | None = None
    # PEM private key and certificate (chain) that sign issued PDFs; None: a self-signed pair in data_dir.
    signing_key_path: Path | None = None
    signing_cert_path: Path | None = None

    @property
    def record_key(self) -> bytes:
        return self.record_number_key.encode()

    @property
    def signing_key(self) -> str:
        return self.jwt_keys[self.jwt_active_kid]

    def serving_at(self, host: str, port: int) -> Settings:
        """These settings for a server listening on host:port; the public address follows unless it was given."""
        public = self.public_base_url if self.public_base_url_given else local_base_url(host, port)
        return msgspec.structs.replace(self, host=host, port=port, public_base_url=public)


def local_base_url(host: str, port: int) -> str:
    """The address a browser on this machine reaches a server listening on host:port at."""
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 - listening everywhere; this machine reaches it on loopback
        host = "127.0.0.1"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise SettingsError(f"{name} must be {bound}, got {value}")
    return value


def _jwt_keys(env: Mapping[str, str], data_dir: Path) -> tuple[dict[str, str], str]:
    """Keys as `kid1:secret1,kid2:secret2`; the first is the one that signs, the rest still verify."""
    raw = env.get("FIELDLOG_JWT_KEYS", "")
    if not raw:
        # A laptop run keeps a generated key in the data folder so tokens survive restarts.
        key_file = data_dir / "jwt.key"
        if key_file.exists():
            secret = key_file.read_text().strip()
        else:
            data_dir.mkdir(parents=True, exist_ok=True)
            secret = secrets.token_urlsafe(48)
            key_file.write_text(secret)
            key_file.chmod(0o600)
        return {"local": secret}, "local"
    keys: dict[str, str] = {}
    first = ""
    for part in raw.split(","):
        kid, sep, secret = part.strip().partition(":")
        if not sep or not kid or len(secret) < 32:
            raise SettingsError("FIELDLOG_JWT_KEYS must be 'kid:secret' pairs separated by commas, secrets ≥ 32 chars")
        keys[kid] = secret
        first = first or kid
    return keys, first


def _signing_files(env: Mapping[str, str]) -> tuple[Path | None, Path | None]:
    """FIELDLOG_SIGNING_KEY and FIELDLOG_SIGNING_CERT: both or neither, readable PEM files, a matching pair."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    key_raw, cert_raw = env.get("FIELDLOG_SIGNING_KEY") or None, env.get("FIELDLOG_SIGNING_CERT") or None
    if key_raw is None and cert_raw is None:
        return None, None
    if key_raw is None or cert_raw is None:
        raise SettingsError("FIELDLOG_SIGNING_KEY and FIELDLOG_SIGNING_CERT must be set together (PEM file paths)")
    key_path, cert_path = Path(key_raw), Path(cert_raw)
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise SettingsError(f"FIELDLOG_SIGNING_KEY {key_raw!r} is not a readable unencrypted PEM key: {exc}") from None
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except (OSError, ValueError) as exc:
        raise SettingsError(f"FIELDLOG_SIGNING_CERT {cert_raw!r} is not a readable PEM certificate: {exc}") from None
    public = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*public) != cert.public_key().public_bytes(*public):
        raise SettingsError("FIELDLOG_SIGNING_CERT does not belong to FIELDLOG_SIGNING_KEY (the first certificate "
                            "in the file must be the signer's)")
    return key_path, cert_path


def _metrics_token(env: Mapping[str, str]) -> str | None:
    token = env.get("FIELDLOG_METRICS_TOKEN") or None
    if token is not None and len(token) < 16:
        raise SettingsError("FIELDLOG_METRICS_TOKEN must be at least 16 characters (or unset: /metrics answers 404)")
    return token


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate settings; raise SettingsError naming the variable at fault."""
    env = os.environ if env is None else env
    data_dir = Path(env.get("FIELDLOG_DATA_DIR", "var"))
    tz = env.get("FIELDLOG_TIMEZONE", "Asia/Shanghai")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"FIELDLOG_TIMEZONE {tz!r} is not a known IANA timezone") from None
    db_url = env.get("DATABASE_URL") or None
    if db_url and not db_url.startswith(("postgresql://", "postgres://", "postgresql+asyncpg://")):
        raise SettingsError("DATABASE_URL must be a postgresql:// URL")
    backend = env.get("FIELDLOG_STORAGE", "disk")
    if backend not in ("disk", "s3"):
        raise SettingsError(f"FIELDLOG_STORAGE must be 'disk' or 's3', got {backend!r}")
    bucket = env.get("FIELDLOG_S3_BUCKET") or None
    if backend == "s3" and not bucket:
        raise SettingsError("FIELDLOG_S3_BUCKET is required when FIELDLOG_STORAGE=s3")
    keys, active = _jwt_keys(env, data_dir)
    record_key = env.get("FIELDLOG_RECORD_KEY") or keys[active]
    level = env.get("FIELDLOG_LOG_LEVEL", "INFO").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise SettingsError(f"FIELDLOG_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {level!r}")
    try:
        service_rules = ServiceRules.from_env(env)
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    types = tuple(t.strip() for t in env.get("FIELDLOG_ATTACHMENT_TYPES", "").split(",") if t.strip())
    host = env.get("FIELDLOG_HOST", "127.0.0.1")
    port = _int(env, "FIELDLOG_PORT", 8000, minimum=1, maximum=65535)
    public_base_url = (env.get("FIELDLOG_PUBLIC_BASE_URL") or "").rstrip("/")
    signing_key_path, signing_cert_path = _signing_files(env)
    return Settings(
        database_url=db_url,
        data_dir=data_dir,
        host=host,
        port=port,
        timezone=tz,
        jwt_keys=keys,
        jwt_active_kid=active,
        jwt_issuer=env.get("FIELDLOG_JWT_ISSUER", "fieldlog"),
        jwt_audience=env.get("FIELDLOG_JWT_AUDIENCE", "fieldlog-api"),
        access_token_minutes=_int(env, "FIELDLOG_ACCESS_TOKEN_MINUTES", 15, minimum=1, maximum=1440),
        refresh_token_days=_int(env, "FIELDLOG_REFRESH_TOKEN_DAYS", 30, minimum=1, maximum=365),
        login_max_failures=_int(env, "FIELDLOG_LOGIN_MAX_FAILURES", 5, minimum=1),
        login_window_seconds=_int(env, "FIELDLOG_LOGIN_WINDOW_SECONDS", 900, minimum=1),
        **_login_settings(env),
        max_body_bytes=_int(env, "FIELDLOG_MAX_BODY_BYTES", 1024 * 1024, minimum=1024),
        sync_max_body_bytes=_int(env, "FIELDLOG_SYNC_MAX_BODY_BYTES", 4 * 1024 * 1024, minimum=1024),
        sync_max_expanded_bytes=_int(env, "FIELDLOG_SYNC_MAX_EXPANDED_BYTES", 16 * 1024 * 1024, minimum=1024),
        sync_max_batch=_int(env, "FIELDLOG_SYNC_MAX_BATCH", 500, minimum=1, maximum=5000),
        tombstone_days=_int(env, "FIELDLOG_TOMBSTONE_DAYS", 180, minimum=1),
        entry_grace_days=_int(env, "FIELDLOG_ENTRY_GRACE_DAYS", 30, minimum=0, maximum=366),
        review_overdue_days=_int(env, "FIELDLOG_REVIEW_OVERDUE_DAYS", 14, minimum=1),
        record_number_key=record_key,
        storage_backend=backend,
        storage_dir=Path(env.get("FIELDLOG_STORAGE_DIR", str(data_dir / "files"))),
        s3_bucket=bucket,
        s3_endpoint_url=env.get("FIELDLOG_S3_ENDPOINT_URL") or None,
        s3_region=env.get("FIELDLOG_S3_REGION", "us-east-1"),
        s3_prefix=env.get("FIELDLOG_S3_PREFIX", ""),
        # S3 refuses multipart parts under 5 MiB (except the last); files up to one part go in a single PUT.
        s3_part_size=_int(env, "FIELDLOG_S3_PART_SIZE", 8 * 1024 * 1024, minimum=5 * 1024 * 1024,
                          maximum=5 * 1024 * 1024 * 1024),
        attachment_max_bytes=_int(env, "FIELDLOG_ATTACHMENT_MAX_BYTES", 20 * 1024 * 1024, minimum=1024),
        attachment_types=types or Settings.__struct_defaults__[Settings.__struct_fields__.index("attachment_types")],
        public_base_url=public_base_url or local_base_url(host, port),
        public_base_url_given=bool(public_base_url),
        log_level=level,
        db_pool_size=_int(env, "FIELDLOG_DB_POOL_SIZE", 10, minimum=1, maximum=200),
        db_pool_timeout=_int(env, "FIELDLOG_DB_POOL_TIMEOUT", 10, minimum=1, maximum=300),
        metrics_token=_metrics_token(env),
        max_inflight_requests=_int(env, "FIELDLOG_MAX_INFLIGHT", 256, minimum=1),
        service_rules=service_rules,
        **_job_settings(env),
        signing_key_path=signing_key_path,
        signing_cert_path=signing_cert_path,
    )


def _login_settings(env: Mapping[str, str]) -> dict[str, object]:
    """The sign-in throttle's budgets and the trusted proxies (backend/auth/throttle.py, backend/netaddr.py)."""
    from backend.netaddr import parse_trusted_proxies

    per_pair = _int(env, "FIELDLOG_LOGIN_MAX_FAILURES", 5, minimum=1)
    # uvicorn's own variable is still read when ours is unset, so an existing deployment keeps its proxy.
    raw_proxies = env.get("FIELDLOG_TRUSTED_PROXIES")
    if raw_proxies is None:
        raw_proxies = env.get("FORWARDED_ALLOW_IPS", "")
    try:
        proxies = parse_trusted_proxies(raw_proxies)
    except ValueError as exc:
        raise SettingsError(f"FIELDLOG_TRUSTED_PROXIES: {exc}") from None
    return {
        "login_max_failures_per_address": _int(env, "FIELDLOG_LOGIN_MAX_FAILURES_PER_ADDRESS", per_pair * 4,
                                               minimum=per_pair),
        "login_max_failures_per_account": _int(env, "FIELDLOG_LOGIN_MAX_FAILURES_PER_ACCOUNT", per_pair * 10,
                                               minimum=per_pair),
        "login_max_delay_ms": _int(env, "FIELDLOG_LOGIN_MAX_DELAY_MS", 3000, minimum=0, maximum=10000),
        "trusted_proxies": proxies,
    }


def _job_settings(env: Mapping[str, str]) -> dict[str, object]:
    """FIELDLOG_WORKER_* / FIELDLOG_JOB_* / FIELDLOG_NOTIFY_* / FIELDLOG_SMTP_*: see the README and docs/operations.md."""
    in_process = env.get("FIELDLOG_WORKER_IN_PROCESS", "auto").lower()
    if in_process not in ("auto", "true", "false", "1", "0"):
        raise SettingsError(f"FIELDLOG_WORKER_IN_PROCESS must be auto, true or false, got {in_process!r}")
    starttls = env.get("FIELDLOG_SMTP_STARTTLS", "true").lower()
    if starttls not in ("true", "false", "1", "0"):
        raise SettingsError(f"FIELDLOG_SMTP_STARTTLS must be true or false, got {starttls!r}")
    ca_file = env.get("FIELDLOG_SMTP_CA_FILE") or None
    return {
        # Laptop mode (no DATABASE_URL) runs a worker inside `fieldlog serve`; a server runs `fieldlog worker`.
        "worker_in_process": in_process in ("true", "1") or (in_process == "auto" and not env.get("DATABASE_URL")),
        "worker_concurrency": _int(env, "FIELDLOG_WORKER_CONCURRENCY", 4, minimum=2, maximum=64),
        "job_heartbeat_seconds": _int(env, "FIELDLOG_JOB_HEARTBEAT_SECONDS", 30, minimum=1, maximum=3600),
        "notify_allow_hosts": tuple(
            h.strip().lower() for h in env.get("FIELDLOG_NOTIFY_ALLOW_HOSTS", "").split(",") if h.strip()
        ),
        "notify_timeout_seconds": _int(env, "FIELDLOG_NOTIFY_TIMEOUT_SECONDS", 10, minimum=1, maximum=120),
        "smtp_host": env.get("FIELDLOG_SMTP_HOST") or None,
        "smtp_port": _int(env, "FIELDLOG_SMTP_PORT", 587, minimum=1, maximum=65535),
        "smtp_user": env.get("FIELDLOG_SMTP_USER") or None,
        "smtp_password": env.get("FIELDLOG_SMTP_PASSWORD") or None,
        "smtp_from": env.get("FIELDLOG_SMTP_FROM", "fieldlog@localhost"),
        "smtp_starttls": starttls in ("true", "1"),
        "smtp_ca_file": Path(ca_file) if ca_file else None,
    }
