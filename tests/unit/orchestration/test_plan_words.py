"""The plan's display words come from one table: every kind has its noun and verb, and progress lines show
a wait on a service on its containers' lines."""

from __future__ import annotations

from composer.plan import Kind, Operation


def test_every_kind_has_words_and_progress_nouns() -> None:
    for kind in Kind:
        op = Operation(f"x:{kind.name}", kind, "target", "cause", condition="service_healthy")
        assert str(op).startswith(f"{op.noun} target")
        assert op.progress_noun in ("Network", "Volume", "Image", "Container")


def test_await_is_a_service_in_the_plan_and_a_container_in_progress() -> None:
    op = Operation("await:kv", Kind.AWAIT, "kv", "dependency of web", condition="service_healthy")
    assert str(op) == "Service kv service_healthy: Wait (dependency of web)"
    assert op.progress_noun == "Container"
