"""Networks in the plan: containers that no longer fit the networks that exist are recreated, and a
network whose configuration changed is removed after its containers and created again before them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from types import MappingProxyType

import pytest

from composer import labels as L
from composer.model import Project
from composer.netplan import network_hash
from composer.observe import Observed, ObservedContainer, ObservedNetwork
from composer.reconcile import ReconcileError, UpOptions, reconcile
from tests.unit.orchestration.conftest import container, snapshot

Loader = Callable[[str], Project]

PROJECT = """
name: nets
services:
  a: {image: busybox:latest, command: sleep 1000}
  b: {image: busybox:latest, command: sleep 1000, depends_on: [a]}
networks:
  default: {driver_opts: {com.docker.network.bridge.name: nets0}}
"""


def _observed(project: Project, net_id: str, attached_to: str, hash_: str | None = None) -> Observed:
    net = project.networks["default"]
    labels = {L.CONFIG_HASH: hash_ if hash_ is not None else network_hash(net)}
    found = ObservedNetwork(net_id, net.name, "default", MappingProxyType(labels))

    def on(c: ObservedContainer) -> ObservedContainer:
        return replace(c, networks=MappingProxyType({net.name: attached_to}))

    base = snapshot(project, [on(container(project, "a")), on(container(project, "b", state="exited"))])
    return replace(base, networks=MappingProxyType({net.name: found}))


def test_converged_networks_change_nothing(load: Loader) -> None:
    project = load(PROJECT)
    plan = str(reconcile(project, _observed(project, "n1", "n1")))
    assert "Create" not in plan and "Remove" not in plan, plan  # only the stopped one is started


def test_containers_on_a_network_created_again_are_recreated_whatever_their_state(load: Loader) -> None:
    project = load(PROJECT)
    plan = reconcile(project, _observed(project, "n2", "n1"))
    text = str(plan)
    assert "Container nets-a-1: Create (recreate: network nets_default was recreated)" in text
    assert "Container nets-b-1: Create (recreate: network nets_default was recreated)" in text
    assert "Network" not in text  # the network itself is fine


def test_no_recreate_keeps_them(load: Loader) -> None:
    project = load(PROJECT)
    plan = reconcile(project, _observed(project, "n2", "n1"), UpOptions(no_recreate=True))
    assert "Create" not in str(plan)


def test_changed_network_is_removed_after_its_containers_and_created_before_them(load: Loader) -> None:
    project = load(PROJECT)
    plan = reconcile(project, _observed(project, "n1", "n1", hash_="old"))
    ops = plan.by_id()
    remove_net = ops["rmnet:nets_default"]
    assert set(remove_net.after) == {"remove:id-a-1", "remove:id-b-1"}
    assert ops["network:default"].after == ("rmnet:nets_default",)
    assert "network:default" in ops["create:nets-a-1"].after
    assert "Container nets-a-1: Create (recreate: network nets_default configuration changed)" in str(plan)


def test_changed_network_used_by_a_service_this_up_leaves_alone_is_refused(load: Loader) -> None:
    project = load(PROJECT)
    with pytest.raises(ReconcileError, match="nets-b-1 use it"):
        reconcile(project, _observed(project, "n1", "n1", hash_="old"), UpOptions(services=("a",)))


def test_networks_created_without_a_recorded_hash_are_not_taken_as_changed(load: Loader) -> None:
    project = load(PROJECT)
    plan = str(reconcile(project, _observed(project, "n1", "n1", hash_="")))
    assert "Create" not in plan and "Remove" not in plan, plan
