"""One TLS context per process for planner's own HTTP clients.

Building a context loads the system's CA bundle, about 14 ms of CPU here, and every new
httpx client builds one, even for a plain-HTTP loopback simulator. planner made a client
per generation, so a worker running 10,000 experiment runs spent over two minutes of CPU
loading certificates, and the test suite about 20 s. An `ssl.SSLContext` is made to be
shared by many connections, so planner's clients share one, built the way httpx builds its
default (`httpx2.create_ssl_context()`, honouring SSL_CERT_FILE / SSL_CERT_DIR as set when
the first client is made). Each client still has its own connection pool.

Contenders keep the configuration their libraries document (`planner.contenders`): what a
library costs is part of what they measure.
"""

from __future__ import annotations

import functools
import ssl
from typing import Any

import anthropic
import httpx2


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """The process's TLS context for planner's clients (built on first use)."""
    return httpx2.create_ssl_context()


def sdk_http_client(**options: Any) -> httpx2.Client:
    """The SDK's default HTTP client (its timeouts, limits, keep-alive), on the shared
    TLS context."""
    return anthropic.DefaultHttpxClient(verify=shared_ssl_context(), **options)


__all__ = ["sdk_http_client", "shared_ssl_context"]
