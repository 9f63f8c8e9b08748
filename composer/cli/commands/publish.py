"""Publish compose application.

Usage:
  publish [options] REPOSITORY

Options:
  --app                       Published compose application (includes referenced images)
  --oci-version VERSION       OCI image/artifact specification version: 1.0 or 1.1 (automatically
                              determined by default: 1.1, then 1.0 when the registry refuses it)
  --resolve-image-digests     Pin image tags to digests
  --with-env                  Include environment variables in the published OCI artifact
  -y, --yes                   Assume "yes" as answer to all prompts

REPOSITORY is `[registry/]name[:tag]`; the project's Compose files (all profiles) are pushed as an OCI
artifact that `docker compose -f oci://REPOSITORY` can run. Services with a build section have their
images pushed first. The registry is reached over HTTPS with the docker CLI's credentials.
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from typing import Any

from composer.cli.options import GlobalOptions, UsageError
from composer.errors import ComposerError

SUPPORTS_DRY_RUN = True
ENV_SUFFIX = (
    "To avoid leaking sensitive data, you must either explicitly allow the sending of environment variables "
    "by using the --with-env flag,\nor remove sensitive data from your Compose configuration"
)


def run(argv: list[str], options: GlobalOptions) -> int:
    from composer.cli.parsing import parse_command
    from composer.oci_push import Reference
    from composer.session import load

    args = parse_command(__doc__ or "", argv)
    if args["--oci-version"] not in (None, "1.0", "1.1"):
        raise UsageError(f"unsupported OCI version: {args['--oci-version']} (use 1.0 or 1.1)")
    ref = Reference.parse(args["REPOSITORY"])
    loaded = load(replace(options, profiles=("*",)))
    services: dict[str, Any] = loaded.canonical.get("services") or {}
    only_build = [name for name, svc in services.items() if not svc.get("image") and svc.get("build")]
    if only_build:
        listing = "".join(f'- "{name}"\n' for name in only_build)
        raise ComposerError(
            "your Compose stack cannot be published as it only contains a build section for service(s):\n"
            + listing
        )
    yes = bool(args["--yes"])
    binds = _bind_mounts(services)
    if binds and not _confirm(
        "you are about to publish bind mounts declaration within your OCI artifact.\n"
        "only the bind mount declarations will be added to the OCI artifact (not content)\n"
        "please double check that you are not mounting potential user's sensitive directories or data\n"
        + "".join(f"{name}{line}\n" for name, lines in binds.items() for line in lines)
        + "Are you ok to publish these bind mount declarations?",
        yes,
    ):
        return 0
    secrets = _sensitive(loaded.config_files, loaded.working_dir)
    if secrets and not _confirm(
        "you are about to publish sensitive data within your OCI artifact.\n"
        "please double check that you are not leaking sensitive data\n"
        + "".join(f'{f.kind}\n"{f.key}": {f.value}\n' for f in secrets)
        + "Are you ok to publish these sensitive data?",
        yes,
    ):
        return 0
    env_vars = _environment(
        services,
        loaded.canonical.get("configs") or {},
        _env_file_services(loaded.config_files),
        bool(args["--with-env"]),
    )
    if env_vars and not _confirm(
        "you are about to publish environment variables within your OCI artifact.\n"
        "please double check that you are not leaking sensitive data\n"
        + "".join(
            f"Service/Config  {name}\n" + "".join(f"{k}={v}\n" for k, v in env.items())
            for name, env in env_vars.items()
        )
        + "Are you ok to publish these environment variables?",
        yes,
    ):
        return 0
    _push_images(options, services)
    return _publish(options, loaded, ref, args)


def _publish(options: GlobalOptions, loaded: Any, ref: Any, args: dict[str, Any]) -> int:
    from composer.cli.commands._common import event_line
    from composer.oci_push import PushError, RegistryClient, credentials
    from composer.publish import MANIFEST_MEDIA_TYPE, build_layers, image_digests_layer, manifest

    def read(path: str) -> bytes:
        try:
            with open(path, "rb") as f:
                return f.read()
        except OSError as exc:
            raise ComposerError(f"{path}: {exc.strerror}") from None

    layers = build_layers(list(loaded.config_files), loaded.working_dir, read)
    blobs = layers.all(with_env=bool(args["--with-env"]), read=read)
    if args["--resolve-image-digests"] or args["--app"]:
        blobs.append(image_digests_layer(_digests(options, loaded.canonical.get("services") or {})))
    repository = args["REPOSITORY"]
    event_line(repository, "publishing", "")
    if options.dry_run:
        event_line(repository, "published", "")
        return 0
    client = RegistryClient(ref, credentials(ref.registry, dict(options.environ)))
    try:
        for blob in blobs:
            client.push_blob(blob.digest, blob.data)
        versions = [args["--oci-version"]] if args["--oci-version"] else ["1.1", "1.0"]
        for n, version in enumerate(versions):
            config, body = manifest(blobs, version)
            client.push_blob(config.digest, config.data)
            try:
                client.push_manifest(MANIFEST_MEDIA_TYPE, body, ref.tag)
                break
            except PushError as exc:
                # a registry without OCI 1.1 support refuses the artifactType: fall back to 1.0
                if n + 1 < len(versions) and 400 <= exc.status < 500 and exc.status not in (401, 403, 407):
                    continue
                raise
        if args["--app"]:
            _push_application(options, client, loaded.canonical.get("services") or {}, body, version)
    except PushError:
        event_line(repository, "publishing", "Error")
        raise
    event_line(repository, "published", "")
    return 0


def _push_application(
    options: GlobalOptions, client: Any, services: dict[str, Any], artifact: bytes, version: str
) -> None:
    """--app: every service's image copied into the repository, and an index of them whose subject is
    the artifact (pushed by digest, found through the artifact)."""
    import hashlib
    import json

    from composer.labels import COMPOSE_VERSION
    from composer.oci_push import Reference, RegistryClient, copy_image, credentials
    from composer.publish import ARTIFACT_TYPE, INDEX_MEDIA_TYPE, MANIFEST_MEDIA_TYPE

    manifests = []
    for svc in services.values():
        image = Reference.parse(str(svc.get("image") or ""))
        source = RegistryClient(image, credentials(image.registry, dict(options.environ)), actions="pull")
        manifests.append(copy_image(source, client, image.tag))
    subject: dict[str, Any] = {
        "mediaType": MANIFEST_MEDIA_TYPE,
        "digest": "sha256:" + hashlib.sha256(artifact).hexdigest(),
        "size": len(artifact),
        "annotations": {"com.docker.compose.version": COMPOSE_VERSION},
    }
    if version == "1.1":
        subject["artifactType"] = ARTIFACT_TYPE
    index = {
        "schemaVersion": 2,
        "mediaType": INDEX_MEDIA_TYPE,
        "manifests": manifests,
        "subject": subject,
        "annotations": {"com.docker.compose.version": COMPOSE_VERSION},
    }
    body = json.dumps(index, separators=(",", ":")).encode()
    client.push_manifest(INDEX_MEDIA_TYPE, body, "sha256:" + hashlib.sha256(body).hexdigest())


def _confirm(question: str, yes: bool) -> bool:
    """Compose's prompt: -y answers yes; otherwise a `y`/`yes` line on stdin (nothing read: no)."""
    if yes:
        return True
    sys.stdout.write(question + (" [y/N] " if sys.stdin.isatty() else ""))
    sys.stdout.flush()
    answer = sys.stdin.readline().strip().lower() if not sys.stdin.closed else ""
    return answer in ("y", "yes")


def _bind_mounts(services: dict[str, Any]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, svc in services.items():
        for volume in svc.get("volumes") or []:
            if volume.get("type") == "bind":
                mode = "ro" if volume.get("read_only") else "rw"
                found.setdefault(name, []).append(f"{volume.get('source')}:{volume.get('target')}:{mode}")
    return found


def _environment(
    services: dict[str, Any], configs: dict[str, Any], env_file_services: set[str], with_env: bool
) -> dict[str, dict[str, str]]:
    """Variables the artifact would carry; without --with-env any of them is Compose's error."""
    errors: list[str] = []
    found: dict[str, dict[str, str]] = {}
    for name, svc in services.items():
        if name in env_file_services:
            errors.append(f'service "{name}" has env_file declared.')
        env = svc.get("environment") or {}
        if env:
            errors.append(f'service "{name}" has environment variable(s) declared.')
            found[name] = {k: "" if v is None else str(v) for k, v in env.items()}
    for name, config in configs.items():
        if config.get("environment"):
            errors.append(f'config "{name}" is declare as an environment variable.')
            found[name] = {name: str(config["environment"])}
    if errors and not with_env:
        raise ComposerError("\n".join(errors) + "\n" + ENV_SUFFIX)
    return found


def _sensitive(config_files: tuple[str, ...], working_dir: str) -> list[Any]:
    """Credential-shaped values in the Compose files (as written) and the services' env files."""
    from composer.secretscan import scan_document, scan_env_file

    found = [f for document in _raw_files(config_files) for f in scan_document(document)]
    for _, svc in _raw_services(config_files):
        for path in _env_file_paths(svc.get("env_file")):
            try:
                with open(os.path.join(working_dir, path), encoding="utf-8") as f:
                    found.extend(scan_env_file(f.read()))
            except OSError:
                continue  # an optional env file that is absent
    return found


def _env_file_services(config_files: tuple[str, ...]) -> set[str]:
    """Services declaring env_file in the files themselves (the loaded model has merged them away)."""
    return {name for name, svc in _raw_services(config_files) if svc.get("env_file")}


def _raw_files(config_files: tuple[str, ...]) -> list[Any]:
    import yaml

    documents = []
    for path in config_files:
        try:
            with open(path, encoding="utf-8") as f:
                documents.append(yaml.safe_load(f) or {})
        except (OSError, yaml.YAMLError):
            continue  # the loader read it already; nothing more to learn here
    return documents


def _raw_services(config_files: tuple[str, ...]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for document in _raw_files(config_files):
        services = document.get("services") if isinstance(document, dict) else None
        for name, svc in (services or {}).items():
            if isinstance(svc, dict):
                out.append((str(name), svc))
    return out


def _env_file_paths(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value] if value else []
    return [str(i.get("path") if isinstance(i, dict) else i) for i in items if i]


def _push_images(options: GlobalOptions, services: dict[str, Any]) -> None:
    """As Compose before publishing: the images of services with a build section are pushed (failures
    only warned about), the others skipped."""
    from composer.cli.commands._common import event_line

    built = [name for name, svc in services.items() if svc.get("build") and svc.get("image")]
    for name in services:
        if name not in built:
            event_line(name, "Skipped", "")
    if not built or options.dry_run:
        return
    from composer.cli.commands import push

    try:
        push.run(["push", "--ignore-push-failures", *built], replace(options, profiles=("*",)))
    except ComposerError as exc:
        from composer.presenter import warn

        warn(f"pushing the images failed: {exc.message}")


def _digests(options: GlobalOptions, services: dict[str, Any]) -> dict[str, str]:
    """Each service's image pinned to the digest its registry reports (through the engine)."""
    from composer.client import engine_errors
    from composer.session import connect

    api = connect(options).api
    pinned: dict[str, str] = {}
    for name, svc in services.items():
        image = str(svc.get("image") or "")
        if not image or "@" in image:
            if image:
                pinned[name] = image
            continue
        try:
            with engine_errors():
                digest = api.inspect_distribution(image)["Descriptor"]["digest"]
        except ComposerError as exc:
            raise ComposerError(f"failed to resolve digest for {image}: {exc.message}") from None
        pinned[name] = f"{image}@{digest}"
    return pinned
