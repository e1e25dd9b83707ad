"""Settings are validated at start with a message naming the variable at fault."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.settings import SettingsError, load_settings


def env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"FIELDLOG_DATA_DIR": str(tmp_path), **extra}


def test_defaults_run_embedded_in_shanghai_time(tmp_path: Path) -> None:
    s = load_settings(env(tmp_path))
    assert s.database_url is None
    assert s.timezone == "Asia/Shanghai"
    assert s.access_token_minutes == 15
    assert s.max_body_bytes == 1024 * 1024


def test_generated_signing_key_survives_a_restart(tmp_path: Path) -> None:
    assert load_settings(env(tmp_path)).signing_key == load_settings(env(tmp_path)).signing_key


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("FIELDLOG_PORT", "eighty", "FIELDLOG_PORT must be a whole number"),
        ("FIELDLOG_PORT", "70000", "FIELDLOG_PORT must be between"),
        ("FIELDLOG_TIMEZONE", "Mars/Olympus", "FIELDLOG_TIMEZONE"),
        ("DATABASE_URL", "mysql://x", "DATABASE_URL must be a postgresql"),
        ("FIELDLOG_STORAGE", "ftp", "FIELDLOG_STORAGE must be"),
        ("FIELDLOG_JWT_KEYS", "nokey", "FIELDLOG_JWT_KEYS"),
        ("FIELDLOG_LOG_LEVEL", "LOUD", "FIELDLOG_LOG_LEVEL"),
    ],
)
def test_bad_value_names_the_variable(tmp_path: Path, name: str, value: str, fragment: str) -> None:
    with pytest.raises(SettingsError, match=fragment):
        load_settings(env(tmp_path, **{name: value}))


def test_s3_needs_a_bucket(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="FIELDLOG_S3_BUCKET"):
        load_settings(env(tmp_path, FIELDLOG_STORAGE="s3"))


def test_jwt_keys_first_one_signs(tmp_path: Path) -> None:
    s = load_settings(env(tmp_path, FIELDLOG_JWT_KEYS="new:" + "n" * 40 + ",old:" + "o" * 40))
    assert s.jwt_active_kid == "new"
    assert set(s.jwt_keys) == {"new", "old"}


def test_service_time_rules_are_validated_with_the_settings(tmp_path: Path) -> None:
    assert load_settings(env(tmp_path, FIELDLOG_SERVICE_COUNT_TRAVEL="false")).service_rules.count_travel_days is False
    with pytest.raises(SettingsError, match="FIELDLOG_SERVICE_COUNT_TRAVEL"):
        load_settings(env(tmp_path, FIELDLOG_SERVICE_COUNT_TRAVEL="sometimes"))
