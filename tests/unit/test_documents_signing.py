"""Signing settings and keys: production key + certificate from settings, validated; the laptop's
self-signed pair made once; a document signed with either validates with pyHanko."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from backend.documents import signing
from backend.documents.layout import PageFrame, para
from backend.settings import Settings, SettingsError, load_settings
from tests.pdf_checks import assert_every_font_embedded, validate_signature

FRAME = PageFrame(title="测试文件", verification_code="7K3M-Q9TX-2HRD", verify_url="http://127.0.0.1/verify/x")


def write_pair(folder: Path, name: str = "省人民医院") -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30)).sign(key, hashes.SHA256())
    )
    key_path, cert_path = folder / f"{name}.key", folder / f"{name}.crt"
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"FIELDLOG_DATA_DIR": str(tmp_path / "data"), **extra}


async def test_production_key_and_certificate_sign_the_document(tmp_path: Path) -> None:
    key, cert = write_pair(tmp_path)
    settings = load_settings(env(tmp_path, FIELDLOG_SIGNING_KEY=str(key), FIELDLOG_SIGNING_CERT=str(cert)))
    assert (settings.signing_key_path, settings.signing_cert_path) == (key, cert)
    signer = signing.signer_for(settings)
    assert signing.signer_name(signer) == "省人民医院"
    import asyncio

    pdf = await asyncio.to_thread(signing.issue_pdf, [para("正文")], FRAME, settings, reason="测试")
    status = await validate_signature(pdf, signer.signing_cert)
    assert status.bottom_line is True
    assert_every_font_embedded(pdf)
    assert not signing.self_signed_path(settings.data_dir).exists()  # no laptop key made in production


def test_signing_settings_are_checked(tmp_path: Path) -> None:
    key, cert = write_pair(tmp_path)
    other_key, _ = write_pair(tmp_path, "别家医院")
    with pytest.raises(SettingsError, match="set together"):
        load_settings(env(tmp_path, FIELDLOG_SIGNING_KEY=str(key)))
    with pytest.raises(SettingsError, match="does not belong"):
        load_settings(env(tmp_path, FIELDLOG_SIGNING_KEY=str(other_key), FIELDLOG_SIGNING_CERT=str(cert)))
    with pytest.raises(SettingsError, match="FIELDLOG_SIGNING_KEY"):
        load_settings(env(tmp_path, FIELDLOG_SIGNING_KEY=str(tmp_path / "missing.key"),
                          FIELDLOG_SIGNING_CERT=str(cert)))
    with pytest.raises(SettingsError, match="FIELDLOG_SIGNING_CERT"):
        load_settings(env(tmp_path, FIELDLOG_SIGNING_KEY=str(key), FIELDLOG_SIGNING_CERT=str(key)))


def test_the_laptop_makes_one_self_signed_pair_in_the_data_folder(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    first = signing.signer_for(settings)
    path = signing.self_signed_path(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    made = path.read_bytes()
    again = signing.signer_for(Settings(data_dir=tmp_path))
    assert path.read_bytes() == made
    assert again.signing_cert.dump() == first.signing_cert.dump()
    assert "自签名" in signing.signer_name(first)
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind
