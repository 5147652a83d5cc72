"""aiokafka's errors in our terms: the runtime branches on ``retriable``, as everywhere else."""

from __future__ import annotations

import asyncio

from aiokafka import errors
from aiokafka.errors import KafkaError

from dealtalk.contracts.errors import ConfigurationError, DealtalkError, InvalidInput, TransientError

__all__ = ["CLIENT_ERRORS", "translate"]

# What a Kafka client call raises when the cluster, the network or the request is the problem.
CLIENT_ERRORS: tuple[type[BaseException], ...] = (KafkaError, OSError, asyncio.TimeoutError)

# Too large for the cluster: sending it again cannot help.
_TOO_LARGE: tuple[type[KafkaError], ...] = (errors.MessageSizeTooLargeError, errors.RecordTooLargeError)
# The cluster refuses us: an operator must fix credentials, ACLs or settings. Classes, not names: a name that
# aiokafka does not have (it says SaslAuthenticationFailed, not ...Error) would silently count as an outage.
_REFUSED: tuple[type[KafkaError], ...] = (
    errors.TopicAuthorizationFailedError,
    errors.GroupAuthorizationFailedError,
    errors.ClusterAuthorizationFailedError,
    errors.SaslAuthenticationFailed,
    errors.AuthenticationFailedError,
    errors.UnsupportedSaslMechanismError,
    errors.IllegalSaslStateError,
    errors.InvalidConfigurationError,
)


def translate(exc: BaseException, doing: str) -> DealtalkError:
    """Our error for a Kafka client failure while ``doing`` something (a phrase for the message).

    Timeouts count as transient: aiokafka marks ``KafkaTimeoutError`` final for the one call, but for a worker
    a broker that is away now is a broker to try again later.
    """
    if isinstance(exc, DealtalkError):
        return exc
    name = type(exc).__name__
    detail = f"{doing}: {name}: {exc}"
    if isinstance(exc, _TOO_LARGE):
        return InvalidInput(detail)
    if isinstance(exc, _REFUSED):
        return ConfigurationError(detail)
    return TransientError(detail)
