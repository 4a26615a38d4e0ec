"""Errors raised by the knowledge base. Callers map them to HTTP statuses, CLI exit
codes or message keys in one place each.

    OpastinError
    ├── InvalidQuery          the request cannot be answered as asked (too long, bad filter)
    │   └── UnsupportedLanguage   a language code outside SUPPORTED_LANGUAGES
    ├── NotFound              no such service / record
    ├── NotAllowed            the signed-in user's role does not allow this
    ├── Conflict              the record changed under you (a ticket someone else took)
    ├── DataUnavailable       a data file is missing or unreadable, or the database is locked
    ├── IndexNotReady         the search index has not been built
    └── UpstreamUnavailable   a service we call over the network did not answer
"""

from __future__ import annotations


class OpastinError(Exception):
    """Base of every error the knowledge base raises on purpose."""


class InvalidQuery(OpastinError):
    pass


class UnsupportedLanguage(InvalidQuery):
    def __init__(self, code: str, supported: tuple[str, ...]) -> None:
        self.code = code
        self.supported = supported
        super().__init__(f"unsupported language {code!r}; supported: {', '.join(supported)}")


class NotFound(OpastinError):
    pass


class NotAllowed(OpastinError):
    pass


class Conflict(OpastinError):
    pass


class DataUnavailable(OpastinError):
    pass


class IndexNotReady(OpastinError):
    pass


class UpstreamUnavailable(OpastinError):
    pass
