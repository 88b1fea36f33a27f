"""Logging: JSON lines through structlog, and no ID-card number or phone number in any of them.

Masking happens twice, on purpose: every record is masked when it is made (so every handler,
tests' included, sees only masked text), and the formatter masks the final line again, which
covers tracebacks. Names are never logged at all; psn_no is an insurance number, not personal data.
"""

from __future__ import annotations

import logging
import re
import sys

import structlog

ID_CARD = re.compile(r"(?<![0-9])([1-9][0-9]{5})[0-9]{8}([0-9]{3}[0-9Xx])(?![0-9A-Za-z])")
PHONE = re.compile(r"(?<![0-9])(1[3-9][0-9])[0-9]{4}([0-9]{4})(?![0-9])")


def mask(text: str) -> str:
    """``652801198001011238`` → ``652801********1238``; ``13912345678`` → ``139****5678``."""
    return PHONE.sub(r"\1****\2", ID_CARD.sub(r"\1********\2", text))


class MaskingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return mask(super().format(record))


def _mask_event(_logger, _name, event: dict) -> dict:
    return {k: mask(v) if isinstance(v, str) else v for k, v in event.items()}


_installed = False


def install_record_masking() -> None:
    """Mask every log record's message as it is created, whoever logs it."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: leave it to the handler to report
            return record
        record.msg, record.args = mask(message), None
        return record

    logging.setLogRecordFactory(factory)
    _installed = True


def configure_structlog() -> None:
    install_record_masking()
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, structlog.stdlib.add_log_level,
                    structlog.processors.TimeStamper(fmt="iso"), _mask_event,
                    structlog.processors.JSONRenderer(ensure_ascii=False)],
        logger_factory=structlog.stdlib.LoggerFactory(), cache_logger_on_first_use=True)


def configure(level: str = "INFO") -> None:
    """For the server and the CLI: JSON lines on stderr, masked."""
    configure_structlog()
    root = logging.getLogger()
    if not any(isinstance(h.formatter, MaskingFormatter) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(MaskingFormatter("%(message)s"))
        root.addHandler(handler)
    root.setLevel(level)
