"""Client errors are logged at INFO: what libraries under the edge log at
WARNING or ERROR about a bad request is the client's mistake, not the server's.

connexion logs ``Function argument 'x' ... not defined in specification`` at
ERROR for every unknown query parameter sent to a handler taking ``**kwargs``
(most list operations here; the parameter is then ignored), and form-body
validation failures (answered 400) at ERROR; uvicorn logs a request it cannot
parse (answered 400) at WARNING. A fuzzer or a misconfigured client would fill
the error log with them and bury the server's own errors. The access log
already records each request's status.

Only the records named in :data:`CLIENT_ERRORS` are demoted; anything else
those loggers say (a response that breaks the spec, an exception in the
application) keeps its level.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

# Logger name -> the messages (format strings, by prefix) that report a client
# error; an empty tuple: everything that logger says at WARNING or above.
CLIENT_ERRORS: Mapping[str, tuple[str, ...]] = {
    "connexion.decorators.parameter": ("Function argument ", "Body property "),
    "connexion.validators.form_data": ("Validation error: ",),
    "uvicorn.error": ("Invalid HTTP request received.",),
}


class ClientErrorsAtInfo(logging.Filter):
    """Lowers the records of a client error to INFO (without a traceback)."""

    def __init__(self, prefixes: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno <= logging.INFO or not self._matches(record):
            return True
        record.levelno, record.levelname = logging.INFO, logging.getLevelName(logging.INFO)
        record.exc_info = record.exc_text = None
        # Passed at its old level: dropped now if INFO is not wanted here.
        return logging.getLogger(record.name).isEnabledFor(logging.INFO)

    def _matches(self, record: logging.LogRecord) -> bool:
        return not self.prefixes or str(record.msg).startswith(self.prefixes)


def log_client_errors_at_info() -> None:
    """Attach the filter to each logger of :data:`CLIENT_ERRORS` (once)."""
    for name, prefixes in CLIENT_ERRORS.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, ClientErrorsAtInfo) for f in logger.filters):
            logger.addFilter(ClientErrorsAtInfo(prefixes))
