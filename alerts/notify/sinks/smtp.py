"""SMTP: a multipart mail per notice: plain text, HTML, and the PDF attached.

The ``Message-ID`` is derived from the notice id, so a mail resent after a
crash in the window between the server's acceptance and the delivery log's
record carries the same id and mail clients and archives can fold it.
Transient SMTP replies (4xx) and connection errors are retried; permanent
ones (5xx: bad address, rejected sender, failed login) are not, nor is a server that does
not offer what the sink's settings require (STARTTLS, AUTH) or whose certificate does not verify:
those need a person, and retrying them only delays the failure. If the server
accepts some recipients and refuses others the notice counts as delivered
(retrying would mail the accepted ones twice) and the refused ones are logged.

Config: ``{type: smtp, host, port, from, to: [..], starttls: bool, username?, password_file?, timeout?}``.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any, Mapping, Sequence

from alerts.notify.brief import notice_html, notice_text, notice_title
from alerts.notify.model import Notice
from alerts.notify.sinks.base import Sink, SinkConfigError, SinkError, check_keys, check_positive

log = logging.getLogger(__name__)


class SmtpSink(Sink):
    type = "smtp"
    REQUIRED = {"host": str, "port": int, "from": str, "to": list, "starttls": bool}
    OPTIONAL = {"username": str, "password_file": str, "timeout": (int, float)}
    makes_pdf = True  # attached to every message

    def __init__(self, host: str, port: int, sender: str, to: Sequence[str], *, starttls: bool = True,
                 username: str | None = None, password: str | None = None, timeout: float = 30.0,
                 name: str | None = None, ssl_context: ssl.SSLContext | None = None) -> None:
        self.host, self.port, self.sender, self.to = host, port, sender, list(to)
        self.starttls, self.username, self._password, self.timeout = starttls, username, password, timeout
        self.ssl_context = ssl_context
        self.name = name or f"smtp:{host}:{port}:{','.join(sorted(self.to))}"

    @classmethod
    def check_values(cls, config: Mapping[str, Any]) -> None:
        if not config["to"]:
            raise SinkConfigError("smtp sink: 'to' needs at least one address", "to")
        if not all(isinstance(a, str) and "@" in a for a in config["to"]):
            raise SinkConfigError(f"smtp sink: 'to' must be a list of addresses, not {config['to']!r}", "to")
        if ("username" in config) != ("password_file" in config):
            raise SinkConfigError("smtp sink: give both username and password_file, or neither",
                                  "password_file" if "username" in config else "username")
        check_positive(config, "timeout")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "SmtpSink":
        check_keys(config, cls)
        password = None
        if "password_file" in config:
            try:
                password = Path(config["password_file"]).read_text().strip()
            except OSError as exc:
                raise SinkConfigError(f"smtp sink: cannot read password_file {config['password_file']}: "
                                      f"{exc.strerror}") from None
        return cls(config["host"], config["port"], config["from"], config["to"], starttls=config["starttls"],
                   username=config.get("username"), password=password, timeout=float(config.get("timeout", 30)),
                   name=config.get("name"))

    def message(self, notice: Notice) -> EmailMessage:
        from alerts.notify.pdf import notice_pdf  # fpdf2 loads only where PDFs are made

        msg = EmailMessage()
        msg["Subject"] = notice_title(notice)
        msg["From"] = self.sender
        msg["To"] = ", ".join(self.to)
        msg["Date"] = formatdate(localtime=False, usegmt=True)
        msg["Message-ID"] = f"<{notice.notice_id}@borderwatch>"
        msg["X-Borderwatch-Notice"] = notice.notice_id
        msg.set_content(notice_text(notice))
        msg.add_alternative(notice_html(notice), subtype="html")
        msg.add_attachment(notice_pdf(notice), maintype="application", subtype="pdf",
                           filename=f"{notice.notice_id}.pdf")
        # RFC 3282, so a mail client offers the right spelling and translation; after the parts, as
        # set_content() drops the Content-* headers it finds
        msg["Content-Language"] = notice.lang
        return msg

    def send(self, notice: Notice) -> None:
        msg = self.message(notice)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=self.ssl_context or ssl.create_default_context())
                if self.username is not None:
                    smtp.login(self.username, self._password or "")
                refused = smtp.send_message(msg)
        except smtplib.SMTPNotSupportedError as exc:
            # STARTTLS or AUTH not offered: the server's configuration or ours is wrong, and trying
            # again the same way cannot help (sending without TLS would put the notice on the wire)
            raise SinkError(f"smtp {self.host}:{self.port}: {exc}; the sink's starttls/username settings do not "
                            "match the server", retryable=False) from None
        except ssl.SSLCertVerificationError as exc:
            raise SinkError(f"smtp {self.host}:{self.port}: the server's certificate is not trusted: "
                            f"{exc.verify_message or exc}", retryable=False) from None
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise SinkError(f"smtp {self.host}:{self.port}: all recipients refused: {exc.recipients}",
                            retryable=all(400 <= c < 500 for c in codes)) from None
        except smtplib.SMTPResponseException as exc:
            raise SinkError(f"smtp {self.host}:{self.port}: {exc.smtp_code} {exc.smtp_error!r}",
                            retryable=400 <= exc.smtp_code < 500) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise SinkError(f"smtp {self.host}:{self.port}: {exc}", retryable=True) from None
        if refused:
            log.warning("notice %s: smtp %s:%s refused %s", notice.notice_id, self.host, self.port, refused)
