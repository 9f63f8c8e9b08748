"""Many layers in parallel (with "Waiting"), and the errors a user sees for missing things."""

from __future__ import annotations

import io
import json
import tarfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.errors import NotFound, Unavailable
from engine.images.store import ImageStore
from engine.registry import RegistryClient, RegistryOptions
from engine.registry.errors import Cancelled
from tests.integration.registry.helpers import skopeo_inspect, statuses, tree
from tests.support.registry import Registry, free_port


def _layer(i: int) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = (f"layer {i}\n" * 20000).encode()  # big enough to show byte progress
        info = tarfile.TarInfo(f"data/layer{i}.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_five_layers_pushed_and_pulled_in_parallel(
    registry: Registry,
    make_store: Callable[[str], ImageStore],
    options: RegistryOptions,
    staging: Path,
) -> None:
    source = make_store("src")
    diff_ids = [source.add_layer(io.BytesIO(_layer(i))) for i in range(5)]
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }
    ref = f"{registry.host}/layers/five:latest"
    image = source.create_image(json.dumps(config).encode(), [ref])
    push_msgs: list[dict[str, Any]] = []
    RegistryClient(source, options, staging_dir=staging).push(ref, progress=push_msgs.append)
    assert sum(1 for s in statuses(push_msgs) if s == "Pushed") == 5
    layers = skopeo_inspect(ref)["Layers"]
    assert len(layers) == 5

    store = make_store("dst")
    msgs: list[dict[str, Any]] = []
    threads: set[str] = set()

    def record(msg: dict[str, Any]) -> None:
        msgs.append(msg)
        if msg.get("status") == "Downloading":
            threads.add(threading.current_thread().name)

    pulled = RegistryClient(store, options, staging_dir=staging).pull(ref, progress=record)
    assert pulled.id == image.id
    assert len(threads) > 1  # downloads ran on several worker threads
    waiting = [m["id"] for m in msgs if m.get("status") == "Waiting"]
    assert waiting == [d.split(":")[1][:12] for d in layers[3:]]  # 3 at a time, as Docker's default
    complete = [m["id"] for m in msgs if m.get("status") == "Pull complete"]
    assert complete == [d.split(":")[1][:12] for d in layers]  # registered bottom-up
    lowers = store.lower_dirs(pulled)
    assert [(p / "data" / f"layer{4 - i}.txt").is_file() for i, p in enumerate(lowers)] == [True] * 5


def test_missing_tag_and_missing_local_image(
    registry: Registry,
    make_store: Callable[[str], ImageStore],
    options: RegistryOptions,
    staging: Path,
) -> None:
    client = RegistryClient(make_store("s"), options, staging_dir=staging)
    with pytest.raises(
        NotFound, match=rf"manifest for {registry.host}/nope:latest not found: manifest unknown"
    ):
        client.pull(f"{registry.host}/nope:latest")
    with pytest.raises(
        NotFound, match=rf"An image does not exist locally with the tag: {registry.host}/nope"
    ):
        client.push(f"{registry.host}/nope:latest")


def test_unreachable_registry_is_one_clear_error(
    make_store: Callable[[str], ImageStore],
    options: RegistryOptions,
    staging: Path,
) -> None:
    host = f"127.0.0.1:{free_port()}"
    with pytest.raises(
        Unavailable, match=rf"cannot reach registry {host}: https://{host}: .*; http://{host}: "
    ):
        RegistryClient(make_store("u"), options, staging_dir=staging).pull(f"{host}/x:1")


def test_cancel_stops_a_pull_and_leaves_the_store_unchanged(
    pushed: tuple[str, str, Any],
    make_store: Callable[[str], ImageStore],
    options: RegistryOptions,
    staging: Path,
) -> None:
    ref, _, _ = pushed
    store = make_store("cancel")
    before = tree(store.root)
    cancel = threading.Event()

    def on_progress(msg: dict[str, Any]) -> None:
        if msg.get("status") == "Downloading":
            cancel.set()  # the API client went away

    with pytest.raises(Cancelled, match="pull cancelled"):
        RegistryClient(store, options, staging_dir=staging).pull(ref, progress=on_progress, cancel=cancel)
    assert tree(store.root) == before
    assert list(staging.iterdir()) == []
