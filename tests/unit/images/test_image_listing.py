"""engine.images.listing: Docker's image filters, hidden intermediates and layer sharing, on plain Images."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from engine.errors import InvalidParameter, NotFound
from engine.images.listing import hide_intermediate, layer_sharing, matching_refs, select
from engine.images.store import Image


def _image(
    n: int,
    created: str,
    tags: tuple[str, ...] = (),
    parent: str = "",
    layers: tuple[str, ...] = (),
    labels: dict[str, str] | None = None,
) -> Image:
    config = {"created": created, "config": {"Labels": labels or {}}, "rootfs": {"diff_ids": list(layers)}}
    return Image(f"sha256:{n:064x}", config, tags, (), 0, parent=parent)


BASE = _image(1, "2024-01-01T00:00:00.000000001Z", ("busybox:latest",), layers=("l1",))
MID = _image(2, "2024-01-02T00:00:00Z", (), parent=BASE.id, layers=("l1", "l2"))
APP = _image(
    3,
    "2024-01-03T00:00:00Z",
    ("library/app:1", "reg:5000/team/app:2"),
    parent=MID.id,
    layers=("l1", "l2", "l3"),
    labels={"tier": "web", "v": "1"},
)
ALL = [BASE, MID, APP]


def _lookup(ref: str) -> Image:
    for image in ALL:
        if ref in image.repo_tags or ref == image.id:
            return image
    raise NotFound(f"No such image: {ref}")


def _ids(images: list[Image]) -> list[str]:
    return [i.id for i in images]


def test_filters_and_within_key_or() -> None:
    assert _ids(select(ALL, {"dangling": ("true",)}, _lookup)) == [MID.id]
    assert _ids(select(ALL, {"label": ("tier=web", "v")}, _lookup)) == [APP.id]
    assert _ids(select(ALL, {"label": ("tier=db",)}, _lookup)) == []
    assert _ids(select(ALL, {"before": ("library/app:1",)}, _lookup)) == [BASE.id, MID.id]
    assert _ids(select(ALL, {"since": ("busybox:latest",)}, _lookup)) == [MID.id, APP.id]
    assert _ids(select(ALL, {"until": ("2024-01-02T12:00:00Z",)}, _lookup)) == [BASE.id, MID.id]
    assert _ids(select(ALL, {"reference": ("busy*", "nothing")}, _lookup)) == [BASE.id]


def test_reference_star_does_not_cross_a_slash() -> None:
    refs = APP.repo_tags
    assert matching_refs(refs, ("*/app",)) == ["library/app:1"]
    assert matching_refs(refs, ("reg:5000/*/app",)) == ["reg:5000/team/app:2"]
    assert matching_refs(refs, ("app",)) == []


@pytest.mark.parametrize("filters", [{"color": ("red",)}, {"dangling": ("maybe",)}, {"reference": ("[ab",)}])
def test_bad_filters_are_invalid_parameters(filters: dict[str, tuple[str, ...]]) -> None:
    with pytest.raises(InvalidParameter):
        select(ALL, filters, _lookup)


def test_intermediate_images_are_hidden_but_dangling_ones_are_not() -> None:
    lone = _image(4, "2024-01-04T00:00:00Z")
    assert _ids(hide_intermediate([*ALL, lone], [*ALL, lone])) == [BASE.id, APP.id, lone.id]


@dataclass
class _Layer:
    size: int


class _Layers:
    def get(self, diff_id: str) -> _Layer:
        if diff_id == "l3":
            raise NotFound("removed meanwhile")
        return _Layer({"l1": 100, "l2": 20}[diff_id])


def test_layer_sharing_counts_layers_used_by_more_than_one_image() -> None:
    shared, total = layer_sharing(_Layers(), ALL)
    assert shared == {BASE.id: 100, MID.id: 120, APP.id: 120}
    assert total == 120
