"""docker-py (the Python SDK) against our engine: the core container, image and volume cycle."""

from __future__ import annotations

import docker
import docker.errors
import pytest

from tests.e2e.helpers import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.root]


def test_run_logs_exec_stop_remove(docker_client: docker.DockerClient) -> None:
    assert docker_client.ping() is True
    assert (
        docker_client.containers.run("busybox", ["echo", "from docker-py"], remove=True)
        == b"from docker-py\n"
    )
    with pytest.raises(docker.errors.ContainerError) as failed:
        docker_client.containers.run("busybox", ["sh", "-c", "exit 6"], remove=True)
    assert failed.value.exit_status == 6

    c = docker_client.containers.run(
        "busybox",
        ["sh", "-c", "echo ready; exec sleep 300"],
        detach=True,
        name="e2e-py",
        labels={"e2e": "py"},
        environment={"WHO": "py"},
    )
    try:
        c.reload()
        assert c.status == "running"
        assert c.labels == {"e2e": "py"}
        assert [x.id for x in docker_client.containers.list(filters={"label": "e2e=py"})] == [c.id]
        wait_until(lambda: b"ready" in c.logs(), what="the container's first log line")
        assert c.logs() == b"ready\n"
        code, out = c.exec_run(["sh", "-c", "echo $WHO; exit 3"])
        assert (code, out) == (3, b"py\n")
        code, out = c.exec_run("cat /etc/hostname")
        assert code == 0 and out.decode().strip() == c.id[:12]
        c.stop(timeout=1)
        c.reload()
        assert c.status == "exited"
        assert c.wait()["StatusCode"] == 137
    finally:
        c.remove(force=True)
    with pytest.raises(docker.errors.NotFound):
        docker_client.containers.get("e2e-py")


def test_images_and_volumes(docker_client: docker.DockerClient) -> None:
    tags = [t for img in docker_client.images.list() for t in img.tags]
    assert "busybox:latest" in tags
    image = docker_client.images.get("busybox")
    assert image.id.startswith("sha256:")
    image.tag("e2e/py", "1")
    assert "e2e/py:1" in docker_client.images.get("busybox").tags
    docker_client.images.remove("e2e/py:1")
    with pytest.raises(docker.errors.ImageNotFound):
        docker_client.images.get("e2e/py:1")

    vol = docker_client.volumes.create("e2e-pyvol", labels={"e2e": "py"})
    try:
        assert vol.attrs["Mountpoint"].endswith("/e2e-pyvol/_data")
        assert [v.name for v in docker_client.volumes.list(filters={"label": "e2e=py"})] == ["e2e-pyvol"]
        out = docker_client.containers.run(
            "busybox",
            ["sh", "-c", "echo v > /v/f && cat /v/f"],
            volumes={"e2e-pyvol": {"bind": "/v"}},
            remove=True,
        )
        assert out == b"v\n"
    finally:
        vol.remove(force=True)
    with pytest.raises(docker.errors.NotFound):
        docker_client.volumes.get("e2e-pyvol")


def test_image_save_load_import(docker_client: docker.DockerClient, busybox_tar: bytes) -> None:
    busybox = docker_client.images.get("busybox")
    busybox.tag("e2e/pysave", "1")
    archive = b"".join(docker_client.images.get("e2e/pysave:1").save(named=True))
    docker_client.images.remove("e2e/pysave:1")
    loaded = docker_client.images.load(archive)  # parses the JSON stream for "Loaded image" lines
    assert [img.id for img in loaded] == [busybox.id]
    assert "e2e/pysave:1" in docker_client.images.get(busybox.id).tags

    out = docker_client.api.import_image_from_data(busybox_tar, repository="e2e/pyimport", tag="2",
                                                   changes=["CMD [\"echo\", \"py-imported\"]"])
    assert '"status":"sha256:' in out.replace(" ", "")
    assert docker_client.containers.run("e2e/pyimport:2", remove=True) == b"py-imported\n"
    docker_client.images.remove("e2e/pyimport:2")
    docker_client.images.remove("e2e/pysave:1")
