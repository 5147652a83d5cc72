"""aiokafka's errors in our terms: a refusal is a configuration error to fix, an outage is retried."""

from __future__ import annotations

import pytest
from aiokafka import errors

from dealtalk.contracts.errors import ConfigurationError, InvalidInput, TransientError
from dealtalk.pipeline.bus.kafka.errors import translate


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (errors.SaslAuthenticationFailed(), ConfigurationError),  # a wrong SASL password
        (errors.AuthenticationFailedError(), ConfigurationError),
        (errors.TopicAuthorizationFailedError(), ConfigurationError),
        (errors.GroupAuthorizationFailedError(), ConfigurationError),
        (errors.UnsupportedSaslMechanismError(), ConfigurationError),
        (errors.MessageSizeTooLargeError(), InvalidInput),
        (errors.RecordTooLargeError(), InvalidInput),
        (errors.KafkaConnectionError(), TransientError),
        (errors.NotLeaderForPartitionError(), TransientError),
        (errors.KafkaTimeoutError(), TransientError),
        (OSError("connection refused"), TransientError),
    ],
)
def test_each_client_failure_becomes_the_error_the_runtime_branches_on(
    failure: BaseException, expected: type[Exception]
) -> None:
    translated = translate(failure, "send to dealtalk.transcribe")
    assert type(translated) is expected
    assert str(translated).startswith(f"send to dealtalk.transcribe: {type(failure).__name__}")
