"""gateway/log_filters.py: client errors down to INFO, the server's own left alone."""

from __future__ import annotations

import logging

import pytest

from gateway.log_filters import ClientErrorsAtInfo, log_client_errors_at_info


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def captured():
    """Records reaching the root logger's handlers, at INFO."""
    root = logging.getLogger()
    handler, level = Capture(), root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield handler.records
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def installed():
    log_client_errors_at_info()
    log_client_errors_at_info()  # a second call adds nothing
    yield
    for name in ("connexion.decorators.parameter", "connexion.validators.form_data",
                 "uvicorn.error"):
        logger = logging.getLogger(name)
        for f in [f for f in logger.filters if isinstance(f, ClientErrorsAtInfo)]:
            logger.removeFilter(f)


def test_client_errors_are_demoted_to_info(captured, installed):
    logging.getLogger("connexion.decorators.parameter").error(
        "Function argument '%s' (non-sanitized: %s) not defined in specification", "x", "x")
    logging.getLogger("connexion.validators.form_data").error("Validation error: 'a' is bad")
    try:
        raise ValueError("bad bytes")
    except ValueError:
        logging.getLogger("uvicorn.error").warning("Invalid HTTP request received.",
                                                   exc_info=True)
    assert [(r.name, r.levelname, r.exc_info) for r in captured] == [
        ("connexion.decorators.parameter", "INFO", None),
        ("connexion.validators.form_data", "INFO", None),
        ("uvicorn.error", "INFO", None)]
    filters = logging.getLogger("uvicorn.error").filters
    assert sum(isinstance(f, ClientErrorsAtInfo) for f in filters) == 1


def test_the_servers_own_errors_keep_their_level(captured, installed):
    logging.getLogger("uvicorn.error").error("Exception in ASGI application")
    logging.getLogger("connexion.validators.json").warning("Validation error: response")
    assert [(r.name, r.levelname) for r in captured] == [
        ("uvicorn.error", "ERROR"), ("connexion.validators.json", "WARNING")]


def test_a_demoted_record_is_dropped_where_info_is_not_wanted(captured, installed):
    logging.getLogger().setLevel(logging.WARNING)
    logging.getLogger("connexion.decorators.parameter").error("Function argument 'x' ...")
    assert captured == []
