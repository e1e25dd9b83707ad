"""E-mail over SMTP with STARTTLS (stdlib smtplib in a thread, with a timeout)."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage

from backend.notifications.channels.base import Message, Outcome
from backend.settings import Settings


def _tls(settings: Settings) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(settings.smtp_ca_file) if settings.smtp_ca_file else None)
    return context


def _send(settings: Settings, to: str, message: Message) -> Outcome:
    mail = EmailMessage()
    mail["From"] = settings.smtp_from
    mail["To"] = to
    mail["Subject"] = message.title
    mail.set_content(message.plain())
    assert settings.smtp_host is not None  # noqa: S101 - checked by the caller
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.notify_timeout_seconds) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=_tls(settings))
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password or "")
            refused = smtp.send_message(mail)
    except smtplib.SMTPResponseException as exc:
        answer = f"{exc.smtp_code} {exc.smtp_error.decode(errors='replace') if isinstance(exc.smtp_error, bytes) else exc.smtp_error}"
        if 400 <= exc.smtp_code < 500:
            return Outcome.retry(f"smtp_{exc.smtp_code}", exc.smtp_code, answer)
        return Outcome.fail(f"smtp_{exc.smtp_code}", exc.smtp_code, answer)
    except smtplib.SMTPRecipientsRefused as exc:
        return Outcome.fail("recipient_refused", None, str(exc.recipients))
    except ssl.SSLError as exc:
        return Outcome.fail("tls_error", None, type(exc).__name__)
    except (OSError, smtplib.SMTPException) as exc:  # timeouts, refused connections, dropped sessions
        return Outcome.retry(f"smtp_unreachable ({type(exc).__name__})")
    if refused:
        return Outcome.fail("recipient_refused", None, str(refused))
    return Outcome.ok(250, "accepted")


async def send_email(settings: Settings, to: str, message: Message) -> Outcome:
    if not settings.smtp_host:
        return Outcome.fail("smtp_not_configured")
    return await asyncio.to_thread(_send, settings, to, message)
