"""The default delivery policy: tries spread over about a day, never announced as jobs of their own."""

from __future__ import annotations

from engine.webhooks.delivery import DeliveryRefused, delivery_policy
from engine.webhooks.settings import WebhookSettings


def test_the_default_tries_span_about_a_day() -> None:
    policy = delivery_policy(WebhookSettings())
    waits = [policy.delay_after(attempt) for attempt in range(1, policy.attempts)]
    assert waits[:3] == [5.0, 10.0, 20.0] and max(waits) == 3600.0
    assert 20 * 3600 <= sum(waits) <= 28 * 3600
    assert policy.announce is False and policy.final == (DeliveryRefused,) and policy.time_limit_s >= 60
