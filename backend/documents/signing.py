"""PAdES signatures (pyHanko) by the issuing institution's key on every PDF fieldlog issues.

Production names a PEM private key and a PEM certificate (the signer's first, then any intermediates) in
FIELDLOG_SIGNING_KEY / FIELDLOG_SIGNING_CERT. A laptop run without them signs with a self-signed
certificate it creates once in the data folder (`signing/self-signed.pem`), so a demo PDF still shows a
signature panel; a committee should only trust documents signed by a certificate they know.

The signature is invisible (no stamp on the page: the QR block is the printed proof) and covers the whole
file as issued: changing any byte of it makes the signature invalid.
"""

from __future__ import annotations

import functools
import io
import os
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from pyhanko.keys.pemder import load_certs_from_pemder_data, load_private_key_from_pemder_data
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko_certvalidator.registry import SimpleCertificateStore
from reportlab.platypus import Flowable

from backend.documents.layout import PageFrame, build_pdf
from backend.settings import Settings

SELF_SIGNED_FILE = "self-signed.pem"
FIELD_NAME = "fieldlog-issuer"
_SELF_SIGNED_YEARS = 10


def self_signed_path(data_dir: Path) -> Path:
    return data_dir / "signing" / SELF_SIGNED_FILE


def _make_self_signed(path: Path) -> None:
    """Create key + certificate in one PEM file, atomically: concurrent first uses end with one pair."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "fieldlog 本地签名(自签名,仅供演示)"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "fieldlog"),
        ]
    )
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(int.from_bytes(secrets.token_bytes(16), "big") >> 1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365 * _SELF_SIGNED_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ) + cert.public_bytes(serialization.Encoding.PEM)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    try:
        os.link(tmp, path)  # fails if another process got there first: theirs is kept
    except FileExistsError:
        pass
    finally:
        tmp.unlink()


def _signer_from_pem(key_pem: bytes, cert_pem: bytes) -> signers.SimpleSigner:
    certs = list(load_certs_from_pemder_data(cert_pem))
    if not certs:
        raise ValueError("the signing certificate file holds no PEM certificate")
    return signers.SimpleSigner(
        signing_cert=certs[0],
        signing_key=load_private_key_from_pemder_data(key_pem, passphrase=None),
        cert_registry=SimpleCertificateStore.from_certs(certs),
    )


@functools.cache
def _load(key_path: Path, cert_path: Path, mtimes: tuple[float, float]) -> signers.SimpleSigner:
    return _signer_from_pem(key_path.read_bytes(), cert_path.read_bytes())


def signer_for(settings: Settings) -> signers.SimpleSigner:
    """The institution's signer (re-read when the files change), or the laptop's self-signed one."""
    if settings.signing_key_path and settings.signing_cert_path:
        key, cert = settings.signing_key_path, settings.signing_cert_path
    else:
        key = cert = self_signed_path(settings.data_dir)
        if not key.exists():
            _make_self_signed(key)
    return _load(key, cert, (key.stat().st_mtime, cert.stat().st_mtime))


def signer_name(signer: signers.SimpleSigner) -> str:
    """The signer's common name, as a PDF reader shows it."""
    return str(signer.signing_cert.subject.native.get("common_name", ""))


def sign_pdf(pdf: bytes, signer: signers.SimpleSigner, *, reason: str, location: str | None = None) -> bytes:
    """The PDF with a PAdES B-B signature over all of it. Blocking (pyHanko runs its own event loop):
    call it from a worker thread, never on the server's loop."""
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=reason,
        location=location,
        name=signer_name(signer) or None,
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    out = signers.sign_pdf(writer, meta, signer=signer, output=io.BytesIO())
    return out.getvalue()


def issue_pdf(story: list[Flowable], frame: PageFrame, settings: Settings, *, reason: str) -> bytes:
    """Lay out and sign a document: the bytes to store, hash and hand out. Blocking, like sign_pdf."""
    return sign_pdf(build_pdf(story, frame), signer_for(settings), reason=reason)
