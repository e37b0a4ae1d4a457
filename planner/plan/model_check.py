"""May this model be sent? The catalogue first, the Models API once per process.

A retired model is refused before anything is sent, with its replacement named; a
deprecated one gets one warning line per process. With a real API key (the real API, not
a simulator), the model is also looked up once per process with `GET /v1/models/{id}`
(the SDK's `models.retrieve`): a model the API does not serve is refused there and then,
in words, instead of failing a generation after its row was written; a model the
catalogue does not know is accepted when the API knows it. The answer is remembered per
endpoint and model, so a busy process asks once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import anthropic

from planner.catalog import ModelCheck, check_model
from planner.errors import ConfigError, ServiceUnavailable
from planner.plan.endpoint import Endpoint

log = logging.getLogger(__name__)


class ModelNotServed(ConfigError):
    """The Models API says the endpoint does not serve this model."""


Retrieve = Callable[[Endpoint, str], None]
"""Ask the endpoint's Models API for `model`: returns, or raises the SDK's error."""

_verified: set[tuple[str | None, str]] = set()
_warned: set[str] = set()
_lock = threading.Lock()


def _retrieve_with_sdk(endpoint: Endpoint, model: str) -> None:
    client = anthropic.Anthropic(api_key=endpoint.api_key, base_url=endpoint.base_url)
    try:
        client.models.retrieve(model)
    finally:
        client.close()


def verify_model(
    endpoint: Endpoint, model: str, *, retrieve: Retrieve = _retrieve_with_sdk
) -> ModelCheck:
    """The catalogue's verdict on `model` (RetiredModelError for a retired one), then, on
    the real API, the Models API's, once per process (ModelNotServed if it has no such
    model; ServiceUnavailable if it cannot be asked)."""
    verdict = check_model(model)
    if verdict.warning is not None:
        with _lock:
            first = model not in _warned
            _warned.add(model)
        if first:
            log.warning("%s", verdict.warning)
    if endpoint.simulated:
        return verdict
    key = (endpoint.base_url, model)
    with _lock:
        if key in _verified:
            return verdict
    try:
        retrieve(endpoint, model)
    except anthropic.NotFoundError:
        raise ModelNotServed(
            f"the API does not serve model {model!r}; set PLANNER_MODEL to a current model "
            "(`planner` lists the catalogue's in its docs)"
        ) from None
    except (anthropic.APIConnectionError, anthropic.InternalServerError) as exc:
        raise ServiceUnavailable(f"cannot ask the Models API about {model!r}: {exc}") from None
    with _lock:
        _verified.add(key)
    return verdict
