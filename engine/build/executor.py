"""The classic builder: stages the target needs, one image per instruction, each step cached.

RUN runs in a container of our runtime (via ContainerService: create, start, wait, commit of the rw layer,
remove) with host networking - docker's default build network is a bridge; builds here need none. COPY/ADD/
WORKDIR work in a mounted overlay of the parent image and commit its upper dir as the step's layer; the
metadata instructions make config-only images. Progress goes to `emit` as Docker's JSON stream messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import posixpath
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.build import cachefrom, fsops, instructions, runmounts
from engine.build import dockerfile as dfp
from engine.build.cache import StepCache, step_key
from engine.build.context import Context, Source, checksum, drop_ignored_build_files
from engine.build.expand import expand, expand_words
from engine.build.users import resolve_owner
from engine.errors import EngineError, InvalidParameter, NotFound
from engine.images.reference import familiar, normalize

if TYPE_CHECKING:
    from engine.containers.service import ContainerService
    from engine.images.store import Image, ImageStore
    from engine.registry import Credentials, RegistryClient

log = logging.getLogger(__name__)
Emit = Callable[[dict[str, Any]], None]
PROXY_ARGS = frozenset(
    {
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "FTP_PROXY",
        "ftp_proxy",
        "NO_PROXY",
        "no_proxy",
        "ALL_PROXY",
        "all_proxy",
    }
)
NOP = "/bin/sh -c #(nop)  "  # history of a config-only step, as the classic builder writes it
NOP_LAYER = "/bin/sh -c #(nop) "  # COPY/ADD/WORKDIR steps that made a layer
_META = {
    "ENV",
    "LABEL",
    "MAINTAINER",
    "CMD",
    "ENTRYPOINT",
    "EXPOSE",
    "VOLUME",
    "USER",
    "STOPSIGNAL",
    "SHELL",
    "ONBUILD",
    "HEALTHCHECK",
}


class BuildError(EngineError):
    """A step failed; `code` is the failing RUN's exit code (1 otherwise), as docker's errorDetail has it."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class BuildOptions:
    """What `POST /build` asks for: Dockerfile, tags, build args, target, cache use."""

    dockerfile: str = "Dockerfile"
    tags: tuple[str, ...] = ()
    build_args: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    target: str = ""
    no_cache: bool = False
    pull: bool = False
    platform: str = ""
    registry_auth: dict[str, Credentials] = field(default_factory=dict)  # registry host -> base-pull creds
    cache_from: tuple[str, ...] = ()
    extra_hosts: tuple[str, ...] = ()  # --add-host: RUN steps' /etc/hosts
    network_mode: str = ""  # --network: RUN steps' network ("" / "default": the default bridge)


@dataclass
class _Stage:
    """A stage being built: the image so far, its config and the args in scope."""

    image: Image | None  # None for scratch before its first layer
    config: dict[str, Any]
    args: dict[str, str]
    escape: str
    context: Path
    cache_from: tuple[Image, ...] = ()  # --cache-from images present in the store

    @property
    def shell(self) -> list[str]:
        return list(self.config.get("Shell") or instructions.DEFAULT_SHELL)

    def env(self) -> dict[str, str]:
        """What variables expand to: ARGs in scope, overridden by ENV (as the reference documents)."""
        return {**self.args, **instructions.env_dict(self.config)}


class Builder:
    def __init__(
        self, images: ImageStore, containers: ContainerService, registry: RegistryClient | None, workdir: Path
    ) -> None:
        self.images = images
        self.containers = containers
        self.registry = registry
        self.root = workdir
        self.cache = StepCache(workdir / "cache.json")

    def recover(self) -> None:
        """At daemon start: drop what a build cut short by a crash left behind (its overlay work dirs, its
        unpacked contexts). Intermediate RUN containers are ordinary containers and stay visible, as with
        dockerd."""
        import shutil

        shutil.rmtree(self.root / "contexts", ignore_errors=True)
        rw_root = Path(getattr(self.images, "root", "")) / "rw"
        for path in rw_root.glob("build-*") if rw_root.is_dir() else []:
            with contextlib.suppress(EngineError, OSError):
                self.images.unmount_rw(path.name)
            with contextlib.suppress(EngineError, OSError):
                self.images.remove_rw(path.name)
                log.info("leftover build layer removed id=%s", path.name)

    def prune(self) -> None:
        """POST /build/prune: no cache is kept beyond images, so the step index is forgotten."""
        self.cache.clear()

    async def build(self, context_dir: Path, opts: BuildOptions, emit: Emit) -> str:
        path = fsops.scoped(context_dir, opts.dockerfile)
        try:
            text = path.read_text()
        except (FileNotFoundError, IsADirectoryError):
            raise InvalidParameter(f"Cannot locate specified Dockerfile: {opts.dockerfile}") from None
        except UnicodeDecodeError as e:
            raise InvalidParameter(f"Dockerfile is not UTF-8 text: {e.reason} at byte {e.start}") from None
        df = dfp.parse(text)
        # as dockerd: once read, the Dockerfile and .dockerignore leave the context if .dockerignore says so
        await asyncio.to_thread(drop_ignored_build_files, context_dir, opts.dockerfile)
        meta_args: dict[str, str] = {}
        for ins in df.global_args:
            for k, default in instructions.arg_decls(ins, meta_args, df.escape):
                if k in opts.build_args:
                    meta_args[k] = opts.build_args[k]
                elif default is not None:
                    meta_args[k] = default
        target = len(df.stages) - 1
        if opts.target:
            found = df.stage_index(opts.target)
            if found is None:
                raise InvalidParameter(f"failed to reach build target {opts.target} in Dockerfile")
            target = found
        needed = self._needed(df, target, meta_args)
        cache_images = await asyncio.to_thread(self._cache_images, opts.cache_from)
        total = sum(1 + len(df.stages[i].instructions) for i in needed)
        step = 0
        built: dict[int, Image] = {}
        consumed: set[str] = set()
        for i in needed:
            stage = df.stages[i]
            step += 1
            emit({"stream": f"Step {step}/{total} : {stage.line and _from_text(stage)}\n"})
            st = await self._from(df, stage, built, meta_args, opts, emit, context_dir)
            st.cache_from = cache_images
            for ins in stage.instructions:
                step += 1
                emit({"stream": f"Step {step}/{total} : {ins.original}\n"})
                await self._step(df, ins, st, built, meta_args, opts, emit, consumed)
            if st.image is None:
                st.image = await asyncio.to_thread(self._meta_image, None, st.config, "")
            built[i] = st.image
        final = built[target]
        if opts.labels:  # --label: one more config-only step, cached like the others
            cfg = copy.deepcopy(final.config.get("config") or {})
            cfg["Labels"] = {**(cfg.get("Labels") or {}), **opts.labels}
            text = "LABEL " + " ".join(f"{k}={v}" for k, v in sorted(opts.labels.items()))
            key = step_key(final.id, "#(nop) " + text, {"config": json.dumps(cfg, sort_keys=True)})
            hit = None if opts.no_cache else self.cache.get(key)
            labelled: Image | None
            try:
                labelled = await asyncio.to_thread(self.images.get, hit) if hit else None
            except NotFound:
                labelled = None
            if labelled is None:
                labelled = await asyncio.to_thread(self._meta_image, built[target], cfg, NOP + text)
                self.cache.put(key, labelled.id)
            final = labelled
        unused = sorted(set(opts.build_args) - consumed - set(meta_args) - PROXY_ARGS)
        if unused:
            emit({"stream": f"[Warning] One or more build-args {unused} were not consumed\n"})
        emit({"aux": {"ID": final.id}})
        emit({"stream": f"Successfully built {final.id.split(':')[1][:12]}\n"})
        for tag in opts.tags:
            await asyncio.to_thread(self.images.tag, final.id, tag)
            emit({"stream": f"Successfully tagged {familiar(normalize(tag))}\n"})
        return str(final.id)

    def _cache_images(self, refs: tuple[str, ...]) -> tuple[Image, ...]:
        """--cache-from images must be in the store already (the client pulls them), as with dockerd."""
        found = []
        for ref in refs:
            try:
                found.append(self.images.get(ref))
            except (NotFound, InvalidParameter):
                log.info("cache-from image not present ref=%s", ref)
        return tuple(found)

    # -- stages ---------------------------------------------------------------------------------------------
    def _needed(self, df: dfp.Dockerfile, target: int, meta_args: dict[str, str]) -> list[int]:
        need: set[int] = set()

        def visit(i: int) -> None:
            if i in need:
                return
            need.add(i)
            stage = df.stages[i]
            ref = df.stage_index(expand(stage.base, meta_args, df.escape))
            if ref is not None and ref < i:
                visit(ref)
            for ins in stage.instructions:
                src = ins.flag("from")
                if ins.cmd == "COPY" and src:
                    dep = df.stage_index(src)
                    if dep is not None and dep < i:
                        visit(dep)

        visit(target)
        return sorted(need)

    async def _from(
        self,
        df: dfp.Dockerfile,
        stage: dfp.Stage,
        built: dict[int, Image],
        meta_args: dict[str, str],
        opts: BuildOptions,
        emit: Emit,
        context_dir: Path,
    ) -> _Stage:
        base = expand(stage.base, meta_args, df.escape)
        ref = df.stage_index(base)
        if ref is not None and ref < stage.index:
            image = built[ref]
        elif base.lower() == "scratch":
            image = None
        else:
            image = await self._base_image(base, opts, emit)
        config = copy.deepcopy((image.config.get("config") if image is not None else None) or {})
        triggers = config.pop("OnBuild", None) or []
        st = _Stage(image, config, {}, df.escape, context_dir)
        if image is not None:
            emit({"stream": f" ---> {image.id.split(':')[1][:12]}\n"})
        for trigger in triggers:
            emit({"stream": f"# Executing {len(triggers)} build trigger{'s' if len(triggers) > 1 else ''}\n"})
            ins = dfp.parse(f"FROM scratch\n{trigger}\n").stages[0].instructions[0]
            await self._step(df, ins, st, built, meta_args, opts, emit, set())
        return st

    async def _base_image(self, name: str, opts: BuildOptions, emit: Emit) -> Image:
        if not opts.pull:
            try:
                return await asyncio.to_thread(self.images.get, name)
            except NotFound:
                pass
        if self.registry is None:
            raise NotFound(f"pull access denied for {name}: no registry client in this engine")
        from engine.images.reference import parse

        creds = opts.registry_auth.get(parse(name).domain)
        await asyncio.to_thread(
            self.registry.pull, name, platform=opts.platform or None, credentials=creds, progress=emit
        )
        return await asyncio.to_thread(self.images.get, name)

    # -- one instruction -----------------------------------------------------------------------------------
    async def _step(
        self,
        df: dfp.Dockerfile,
        ins: dfp.Instruction,
        st: _Stage,
        built: dict[int, Image],
        meta_args: dict[str, str],
        opts: BuildOptions,
        emit: Emit,
        consumed: set[str],
    ) -> None:
        if ins.cmd == "ARG":
            for k, default in instructions.arg_decls(ins, st.env(), df.escape):
                if k in opts.build_args:
                    consumed.add(k)
                    st.args[k] = opts.build_args[k]
                elif default is not None:
                    st.args[k] = default
                elif k in meta_args:  # a global ARG brought into the stage
                    st.args[k] = meta_args[k]
                else:  # declared without a value: unset, as ${k-x} tells
                    st.args.pop(k, None)
            return
        if ins.cmd == "RUN":
            await self._run(ins, st, opts, emit)
            return
        if ins.cmd in ("COPY", "ADD"):
            await self._copy(ins, st, built, df, emit, opts)
            return
        if ins.cmd == "WORKDIR":
            await self._workdir(ins, st, emit, opts)
            return
        if ins.cmd in _META:
            config = copy.deepcopy(st.config)
            text = instructions.apply(ins, config, st.env(), df.escape, st.shell)
            await self._commit_meta(st, config, text, opts, emit)
            return
        raise InvalidParameter(f"Dockerfile parse error line {ins.line}: unknown instruction {ins.cmd}")

    def _cached(
        self, key: str, opts: BuildOptions, st: _Stage, created_bys: tuple[str, ...], config: dict[str, Any]
    ) -> Image | None:
        """The step's image from the local step cache, else restored from a --cache-from image."""
        if opts.no_cache:
            return None
        # with --cache-from, only those images are cache sources (dockerd's legacy builder): none of them
        # present means no cache at all
        image_id = None if opts.cache_from else self.cache.get(key)
        if image_id is not None:
            try:
                return self.images.get(image_id)
            except NotFound:
                pass
        if not st.cache_from:
            return None
        hit = cachefrom.restore(self.images, st.image, st.cache_from, created_bys, config)
        if hit is not None:
            self.cache.put(key, hit.id)
        return hit

    async def _commit_meta(
        self, st: _Stage, config: dict[str, Any], text: str, opts: BuildOptions, emit: Emit
    ) -> None:
        parent = st.image.id if st.image is not None else ""
        key = step_key(parent, "#(nop) " + text, {"config": json.dumps(config, sort_keys=True)})
        hit = await asyncio.to_thread(self._cached, key, opts, st, (NOP + text,), config)
        if hit is not None:
            emit({"stream": " ---> Using cache\n"})
        else:
            hit = await asyncio.to_thread(self._meta_image, st.image, config, NOP + text)
            self.cache.put(key, hit.id)
        self._advance(st, hit, config, emit)

    def _advance(self, st: _Stage, image: Image, config: dict[str, Any], emit: Emit) -> None:
        st.image = image
        st.config = config
        emit({"stream": f" ---> {image.id.split(':')[1][:12]}\n"})

    def _meta_image(self, base: Image | None, config: dict[str, Any], created_by: str) -> Image:
        from engine.images import timefmt
        from engine.images.importer import host_architecture

        full: dict[str, Any] = (
            copy.deepcopy(base.config)
            if base is not None
            else {
                "architecture": host_architecture(),
                "os": "linux",
                "rootfs": {"type": "layers", "diff_ids": []},
            }
        )
        now = timefmt.now()
        full["config"] = config
        full["created"] = now
        if created_by:
            full["history"] = [
                *(full.get("history") or []),
                {"created": now, "created_by": created_by, "empty_layer": True},
            ]
        return self.images.create_image(full, parent=base.id if base is not None else "")

    # -- RUN ------------------------------------------------------------------------------------------------
    def _run_argv(self, ins: dfp.Instruction, st: _Stage) -> list[str]:
        if ins.heredocs:
            head = ins.rest.strip()
            if len(ins.heredocs) == 1 and dfp._HEREDOC_RE.fullmatch(head):
                return [*st.shell, ins.heredocs[0].content]
            script = head + "\n" + "".join(h.content + h.name + "\n" for h in ins.heredocs)
            return [*st.shell, script]
        return instructions.command(ins, st.shell)

    async def _run(self, ins: dfp.Instruction, st: _Stage, opts: BuildOptions, emit: Emit) -> None:
        argv = self._run_argv(ins, st)
        keyed_args = {k: v for k, v in sorted(st.args.items()) if k not in PROXY_ARGS}
        prefix = (
            f"|{len(keyed_args)} " + " ".join(f"{k}={v}" for k, v in keyed_args.items()) + " "
            if keyed_args
            else ""
        )
        created_by = prefix + (" ".join(argv) if ins.json_args is None else json.dumps(argv))
        parent = st.image.id if st.image is not None else ""
        host_config, bound = runmounts.host_config(
            ins.flags,
            ins.line,
            build_root=self.root,
            context=st.context,
            workdir=st.config.get("WorkingDir") or "/",
        )
        extra = {
            "config": json.dumps(st.config, sort_keys=True),
            "flags": json.dumps(ins.flags, sort_keys=True),
            "binds": await asyncio.to_thread(checksum, [Source(p, t) for p, t in bound]) if bound else "",
        }
        key = step_key(parent, "RUN " + created_by, extra)
        hit = await asyncio.to_thread(self._cached, key, opts, st, (created_by,), st.config)
        if hit is not None:
            emit({"stream": " ---> Using cache\n"})
            self._advance(st, hit, st.config, emit)
            return
        if st.image is None:
            st.image = await asyncio.to_thread(self._meta_image, None, st.config, "")
        # the predefined proxy ARGs reach RUN when passed, declared or not; they stay out of the cache key
        proxies = {k: v for k, v in opts.build_args.items() if k in PROXY_ARGS}
        env = {**proxies, **st.args, **instructions.env_dict(st.config)}
        body = {
            "Image": st.image.id,
            "Cmd": argv,
            "Entrypoint": [],
            "Env": [f"{k}={v}" for k, v in env.items()],
            "WorkingDir": st.config.get("WorkingDir") or "",
            "User": st.config.get("User") or "",
            "Healthcheck": {"Test": ["NONE"]},
            "HostConfig": {
                **host_config,
                **({"ExtraHosts": list(opts.extra_hosts)} if opts.extra_hosts else {}),
                **({"NetworkMode": opts.network_mode} if opts.network_mode not in ("", "default") else {}),
            },
        }
        cid, _ = await self.containers.create(None, body)
        emit({"stream": f" ---> Running in {cid[:12]}\n"})
        try:
            waiter = self.containers.wait_for(cid, "next-exit")
            await self.containers.start(cid)
            result = await self._stream_until(cid, waiter, emit)
            code = int(result.get("StatusCode", 1))
            if code != 0:
                shown = json.dumps(argv) if ins.json_args is not None else " ".join(argv)
                raise BuildError(f"The command '{shown}' returned a non-zero code: {code}", code)
            image = await asyncio.to_thread(
                self.images.commit_rw, cid, st.image, st.config, created_by=created_by
            )
        finally:
            with contextlib.suppress(EngineError):
                await self.containers.remove(cid, force=True, volumes=True)
        emit({"stream": f"Removing intermediate container {cid[:12]}\n"})
        self.cache.put(key, image.id)
        self._advance(st, image, st.config, emit)

    async def _stream_until(self, cid: str, waiter: Awaitable[dict[str, Any]], emit: Emit) -> dict[str, Any]:
        """Relay the step's output from its json log while it runs (docker build shows it live)."""
        task = asyncio.ensure_future(waiter)
        path = self.containers.log_path(cid)
        offset = 0
        while True:
            done, _ = await asyncio.wait([task], timeout=0.05)
            offset = self._relay(path, offset, emit)
            if done:
                self._relay(path, offset, emit)
                return dict(task.result())

    @staticmethod
    def _relay(path: Path, offset: int, emit: Emit) -> int:
        try:
            with open(path, "rb") as f:
                f.seek(offset)
                data = f.read()
        except FileNotFoundError:
            return offset
        end = data.rfind(b"\n") + 1
        for line in data[:end].splitlines():
            with contextlib.suppress(ValueError, KeyError):
                entry = json.loads(line)
                # dockerd's legacy builder shows a step's stderr in red
                text = f"\x1b[91m{entry['log']}\x1b[0m" if entry.get("stream") == "stderr" else entry["log"]
                emit({"stream": text})
        return offset + end

    # -- filesystem steps -----------------------------------------------------------------------------------
    def _fs_step(
        self, base: Image | None, work: Callable[[Path], bool], config: dict[str, Any], created_by: str
    ) -> Image:
        """Run `work` in a mounted overlay of `base`; its changes become one layer. `work` returning False
        means nothing changed: the step is then config-only."""
        rid = "build-" + secrets.token_hex(16)
        self.images.create_rw(rid, base)
        try:
            root = self.images.mount_rw(rid)
            if not work(root):
                return self._meta_image(base, config, NOP + created_by)
            return self.images.commit_rw(rid, base, config, created_by=NOP_LAYER + created_by)
        finally:
            with contextlib.suppress(EngineError, OSError):
                self.images.unmount_rw(rid)
            with contextlib.suppress(EngineError, OSError):
                self.images.remove_rw(rid)

    async def _workdir(self, ins: dfp.Instruction, st: _Stage, emit: Emit, opts: BuildOptions) -> None:
        config = copy.deepcopy(st.config)
        text = instructions.apply(ins, config, st.env(), st.escape, st.shell)
        parent = st.image.id if st.image is not None else ""
        key = step_key(parent, text, {"config": json.dumps(config, sort_keys=True)})
        hit = await asyncio.to_thread(self._cached, key, opts, st, (NOP + text, NOP_LAYER + text), config)
        if hit is None:
            target = config["WorkingDir"]

            def work(root: Path) -> bool:
                if fsops.scoped(root, target).is_dir():
                    return False
                fsops.makedirs(root, target)
                return True

            hit = await asyncio.to_thread(self._fs_step, st.image, work, config, text)
            self.cache.put(key, hit.id)
        else:
            emit({"stream": " ---> Using cache\n"})
        self._advance(st, hit, config, emit)

    async def _copy(
        self,
        ins: dfp.Instruction,
        st: _Stage,
        built: dict[int, Image],
        df: dfp.Dockerfile,
        emit: Emit,
        opts: BuildOptions,
    ) -> None:
        for flag in ("parents", "exclude", "checksum", "keep-git-dir"):
            if flag in ins.flags:
                raise InvalidParameter(
                    f"Dockerfile parse error line {ins.line}: {ins.cmd} --{flag} needs BuildKit, which this "
                    "engine does not offer"
                )
        env = st.env()
        if ins.json_args is not None:
            words = [expand(w, env, df.escape) for w in ins.json_args]
        else:
            words = expand_words(ins.rest, env, df.escape)
        heredocs = {h.name: h for h in ins.heredocs}
        if len(words) < 2 and not (heredocs and words):
            raise InvalidParameter(
                f"Dockerfile parse error line {ins.line}: {ins.cmd} requires at least two "
                "arguments, but only one was provided. Destination could not be determined."
            )
        dest, patterns = words[-1], words[:-1]
        workdir = st.config.get("WorkingDir") or "/"
        abs_dest = dest if dest.startswith("/") else posixpath.join(workdir, dest)
        if dest.endswith("/") and not abs_dest.endswith("/"):
            abs_dest += "/"
        chown = expand(ins.flag("chown"), env, df.escape)
        chmod_text = ins.flag("chmod")
        try:
            mode = int(chmod_text, 8) if chmod_text else None
        except ValueError:
            raise InvalidParameter(
                f"Dockerfile parse error line {ins.line}: invalid chmod {chmod_text!r}"
            ) from None
        from_ref = expand(ins.flag("from"), env, df.escape)
        from_image = None
        if from_ref:
            idx = df.stage_index(from_ref)
            if idx is not None and idx in built:
                from_image = built[idx]
            else:
                from_image = await self._base_image(from_ref, opts, emit)
        context = Context(st.context)
        sources: list[Source] = []
        docs: list[dfp.Heredoc] = []
        for p in patterns:
            m = dfp._HEREDOC_RE.fullmatch(p)
            if m and m.group(3) in heredocs:
                docs.append(heredocs[m.group(3)])
            elif from_image is None:
                if ins.cmd == "ADD" and p.split("://", 1)[0] in ("http", "https", "git"):
                    raise InvalidParameter(f"ADD from a URL is not supported by this engine: {p}")
                sources.extend(context.select(p))
        if from_image is None:
            content = await asyncio.to_thread(checksum, sources)
        else:
            content = f"{from_image.id}:{json.dumps(patterns)}"
        doc_text = [expand(h.content, env, df.escape) if h.expand else h.content for h in docs]
        text = f"{ins.cmd} {' '.join(patterns)} {abs_dest}"
        parent = st.image.id if st.image is not None else ""
        key = step_key(
            parent,
            text,
            {
                "content": content,
                "chown": chown,
                "chmod": chmod_text,
                "docs": json.dumps(doc_text),
                "config": json.dumps(st.config, sort_keys=True),
            },
        )
        created_by = (
            f"{ins.cmd} {content.split(':', 1)[-1][:64] if from_image is None else content} in {abs_dest} "
        )
        hit = await asyncio.to_thread(self._cached, key, opts, st, (NOP_LAYER + created_by,), st.config)
        if hit is not None:
            emit({"stream": " ---> Using cache\n"})
            self._advance(st, hit, st.config, emit)
            return

        def work(root: Path) -> bool:
            owner = resolve_owner(root, chown) if chown else None
            for body in doc_text:
                fsops.write_file(root, abs_dest, body.encode(), owner=owner, mode=mode)
            if from_image is not None:
                self._copy_from_image(from_image, patterns, root, abs_dest, owner, mode)
            elif sources:
                fsops.copy_sources(
                    root,
                    sources,
                    abs_dest,
                    owner=owner,
                    mode=mode,
                    from_context=True,
                    extract_archives=ins.cmd == "ADD",
                )
            return True

        image = await asyncio.to_thread(self._fs_step, st.image, work, st.config, created_by)
        self.cache.put(key, image.id)
        self._advance(st, image, st.config, emit)

    def _copy_from_image(
        self,
        image: Image,
        patterns: list[str],
        root: Path,
        dest: str,
        owner: tuple[int, int] | None,
        mode: int | None,
    ) -> None:
        rid = "build-" + secrets.token_hex(16)
        self.images.create_rw(rid, image)
        try:
            src_root = self.images.mount_rw(rid)
            ctx = Context(src_root)
            sources: list[Source] = []
            for p in patterns:
                resolved = fsops.scoped(src_root, p, follow_last=True)
                rel = str(resolved.relative_to(src_root))
                sources.extend(ctx.select(rel if not any(c in p for c in "*?[") else p))
            fsops.copy_sources(root, sources, dest, owner=owner, mode=mode, from_context=False)
        finally:
            with contextlib.suppress(EngineError, OSError):
                self.images.unmount_rw(rid)
            with contextlib.suppress(EngineError, OSError):
                self.images.remove_rw(rid)


def _from_text(stage: dfp.Stage) -> str:
    parts = ["FROM"]
    if stage.platform:
        parts.append(f"--platform={stage.platform}")
    parts.append(stage.base)
    if stage.name:
        parts += ["AS", stage.name]
    return " ".join(parts)
