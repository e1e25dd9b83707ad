"""Local stand-ins for the providers: an HTTP server playing WeCom/DingTalk/a webhook receiver (with faults),
and a real SMTP server (aiosmtpd) that requires STARTTLS with a self-signed certificate made here."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass
class Hit:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: dict[str, Any]
    raw: bytes


@dataclass
class FakeProvider:
    """Answers each POST with the next scripted fault (`429:<retry-after>`, `500`, `hang:<s>`), then OK."""

    dingtalk_secret: str = ""
    faults: list[str] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, hit: Hit) -> tuple[int, dict[str, str], dict[str, Any]]:
        with self.lock:
            self.hits.append(hit)
            fault = self.faults.pop(0) if self.faults else ""
        if fault.startswith("429"):
            return 429, {"Retry-After": fault.split(":")[1]}, {"errcode": 45009, "errmsg": "api freq out of limit"}
        if fault == "500":
            return 500, {}, {"errmsg": "internal"}
        if fault.startswith("hang"):
            time.sleep(float(fault.split(":")[1]))
        if hit.path.startswith("/robot/send"):  # DingTalk: the signature must match "timestamp\nsecret"
            ts = hit.query.get("timestamp", [""])[0]
            sign = hit.query.get("sign", [""])[0]
            mac = hmac.new(self.dingtalk_secret.encode(), f"{ts}\n{self.dingtalk_secret}".encode(), hashlib.sha256)
            fresh = ts.isdigit() and abs(time.time() * 1000 - int(ts)) < 3600 * 1000
            if not fresh or base64.b64encode(mac.digest()).decode() != sign:
                return 200, {}, {"errcode": 310000, "errmsg": "sign not match"}
        return 200, {}, {"errcode": 0, "errmsg": "ok"}


def serve_provider(provider: FakeProvider) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)  # undoes DingTalk's URL-encoding of the base64 sign (%2B, %2F, %3D)
            hit = Hit(parts.path, query, dict(self.headers.items()), json.loads(raw or b"{}"), raw)
            status, headers, body = provider.answer(hit)
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the client gave up (timeout test)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 / localhost and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@dataclass
class Mailbox:
    messages: list[dict[str, Any]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd hook
        self.messages.append({"to": envelope.rcpt_tos, "tls": session.ssl is not None,
                              "content": envelope.content.decode("utf-8", "replace")})
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_smtp(directory: Path) -> tuple[Controller, Mailbox, int, Path]:
    """An SMTP server on 127.0.0.1 that refuses mail before STARTTLS."""
    import ssl

    cert, key = self_signed(directory)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True)
    controller.start()
    return controller, mailbox, port, cert
