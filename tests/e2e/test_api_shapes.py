"""The JSON of our image, volume and disk-usage endpoints against the required fields and types of the Docker
Engine API's definitions (ImageSummary, ImageInspect, HistoryResponseItem, Volume, the df response): what
clients other than the docker CLI decode strictly."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from tests.support.engine import EngineProcess

pytestmark = [pytest.mark.e2e, pytest.mark.root]


def obj(required: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": list(required), "properties": required}


STR, INT, BOOL = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
STRS = {"type": "array", "items": STR}
STR_MAP = {"type": "object", "additionalProperties": STR}

IMAGE_SUMMARY = obj(
    {
        "Id": STR,
        "ParentId": STR,
        "RepoTags": STRS,
        "RepoDigests": STRS,
        "Created": INT,
        "Size": INT,
        "SharedSize": INT,
        "Labels": STR_MAP,
        "Containers": INT,
    }
)
IMAGE_INSPECT = obj(
    {
        "Id": STR,
        "RepoTags": STRS,
        "RepoDigests": STRS,
        "Parent": STR,
        "Comment": STR,
        "Created": STR,
        "Author": STR,
        "Config": {"type": "object"},
        "Architecture": STR,
        "Os": STR,
        "Size": INT,
        "GraphDriver": obj({"Name": STR, "Data": {"type": ["object", "null"]}}),
        "RootFS": obj({"Type": STR, "Layers": STRS}),
        "Metadata": obj({"LastTagTime": STR}),
    }
)
HISTORY_ITEM = obj(
    {
        "Id": STR,
        "Created": INT,
        "CreatedBy": STR,
        "Tags": {"type": ["array", "null"]},
        "Size": INT,
        "Comment": STR,
    }
)
VOLUME = obj(
    {
        "Name": STR,
        "Driver": STR,
        "Mountpoint": STR,
        "Labels": STR_MAP,
        "Scope": {"enum": ["local"]},
        "Options": STR_MAP,
        "CreatedAt": STR,
    }
)
DF = obj(
    {
        "LayersSize": INT,
        "Images": {"type": "array", "items": IMAGE_SUMMARY},
        "Containers": {
            "type": "array",
            "items": obj({"Id": STR, "Names": STRS, "SizeRw": INT, "SizeRootFs": INT, "State": STR}),
        },
        "Volumes": {
            "type": "array",
            "items": {"allOf": [VOLUME, obj({"UsageData": obj({"Size": INT, "RefCount": INT})})]},
        },
        "BuildCache": {"type": "array"},
    }
)


def test_image_endpoints_match_the_api_definitions(engine_handle: EngineProcess) -> None:
    eng = engine_handle
    images = eng.json("GET", "/v1.47/images/json?shared-size=1")
    jsonschema.validate(images, {"type": "array", "minItems": 1, "items": IMAGE_SUMMARY})
    jsonschema.validate(eng.json("GET", "/v1.47/images/busybox/json"), IMAGE_INSPECT)
    history = eng.json("GET", "/v1.47/images/busybox:latest/history")
    jsonschema.validate(history, {"type": "array", "minItems": 1, "items": HISTORY_ITEM})
    legacy = eng.json("GET", '/v1.47/images/json?filters={"dangling":{"true":true}}')  # pre-1.30 filter form
    assert all(not i["RepoTags"] for i in legacy)
    missing = eng.request("GET", "/v1.47/images/e2e/nosuch:1/json")
    assert (missing.status, missing.message) == (404, "No such image: e2e/nosuch:1")
    no_repo = eng.request("POST", "/v1.47/images/busybox/tag?repo=&tag=x")
    assert no_repo.status == 400 and no_repo.message


def test_volume_and_df_endpoints_match_the_api_definitions(engine_handle: EngineProcess) -> None:
    eng = engine_handle
    created = eng.json(
        "POST", "/v1.47/volumes/create", {"Name": "e2e-shape", "Labels": {"k": "v"}}, expect=201
    )
    try:
        jsonschema.validate(created, VOLUME)
        again = eng.json("POST", "/v1.47/volumes/create", {"Name": "e2e-shape"}, expect=201)
        assert again["CreatedAt"] == created["CreatedAt"]  # creating an existing volume returns it
        listing = eng.json("GET", "/v1.47/volumes")
        jsonschema.validate(listing, obj({"Volumes": {"type": "array", "items": VOLUME}, "Warnings": STRS}))
        jsonschema.validate(eng.json("GET", "/v1.47/volumes/e2e-shape"), VOLUME)
        df = eng.json("GET", "/v1.47/system/df")
        jsonschema.validate(df, DF)
        assert any(v["Name"] == "e2e-shape" and v["UsageData"]["RefCount"] == 0 for v in df["Volumes"])
        only_images = eng.json("GET", "/v1.47/system/df?type=image")
        assert set(only_images) == {"Images", "LayersSize"}
        bad = eng.request("GET", "/v1.47/system/df?type=bogus")
        assert bad.status == 400 and "bogus" in bad.message
        bad_body = eng.request(
            "POST", "/v1.47/volumes/create", b"{not json", headers={"Content-Type": "application/json"}
        )
        assert bad_body.status == 400 and bad_body.message.startswith("invalid JSON")
    finally:
        eng.request("DELETE", "/v1.47/volumes/e2e-shape")
    assert eng.request("GET", "/v1.47/volumes/e2e-shape").status == 404
