"""Logging: JSON lines through structlog, and no ID-card number or phone number in any of them.

Masking happens twice, on purpose: every record is masked when it is made (so every handler,
tests' included, sees only masked text), and the formatter masks the final line again, which
covers tracebacks. Every logger of the process writes through the root logger's masking handler:
uvicorn's own loggers are told to (``UVICORN_LOGGING``, given to uvicorn as its ``log_config``),
and warnings and uncaught exceptions are logged too. Names are never logged at all; psn_no is an
insurance number, not personal data.
"""

from __future__ import annotations

import logging
import re
import sys
import threading

import structlog

ID_CARD = re.compile(r"(?<![0-9])([1-9][0-9]{5})[0-9]{8}([0-9]{3}[0-9Xx])(?![0-9A-Za-z])")
PHONE = re.compile(r"(?<![0-9])(1[3-9][0-9])[0-9]{4}([0-9]{4})(?![0-9])")


def mask(text: str) -> str:
    """``652801198001011238`` → ``652801********1238``; ``13912345678`` → ``139****5678``."""
    return PHONE.sub(r"\1****\2", ID_CARD.sub(r"\1********\2", text))


class MaskingFormatter(logging.Formatter):
    """Masks the whole line; the traceback text it caches on the record is masked as well, so a
    handler formatting the same record after it never sees the raw text."""

    def format(self, record: logging.LogRecord) -> str:
        return mask(super().format(record))

    def formatException(self, ei) -> str:  # noqa: N802 - logging's name
        return mask(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:  # noqa: N802 - logging's name
        return mask(super().formatStack(stack_info))


# uvicorn's log_config: its loggers keep no handlers of their own (uvicorn's default config gives
# them unmasked ones that do not propagate) and write through the root logger's.
UVICORN_LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "loggers": {name: {"handlers": [], "propagate": True}
                for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")},
}


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
    """For the server and the CLI: JSON lines on stderr, masked; warnings and uncaught exceptions
    (which Python would print straight to stderr) are logged through the same handler."""
    configure_structlog()
    root = logging.getLogger()
    if not any(isinstance(h.formatter, MaskingFormatter) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(MaskingFormatter("%(message)s"))
        root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_thread_crash


def _log_uncaught(kind, value, tb) -> None:
    logging.getLogger("gongji.crash").critical("uncaught exception", exc_info=(kind, value, tb))


def _log_thread_crash(args) -> None:
    if args.exc_type is not SystemExit:  # as Python's own hook: a thread's exit is no crash
        _log_uncaught(args.exc_type, args.exc_value, args.exc_traceback)
