"""`make image`: build the qunbus image from the Dockerfile on this machine, with no registry and no Docker engine.

    python -m tools.image            # build (or find) localhost/qunbus:<hash of its inputs>; prints tag, size, time

- buildah (`bud --isolation chroot`, `vfs` storage in $QUNBUS_IMAGE_STORE, default ~/.cache/qunbus-images) builds
  the Dockerfile. Debian's `buildah` and `mmdebstrap` are installed with apt-get when missing (as root).
- The base image is not pulled: `mmdebstrap --variant=minbase` makes a Debian bookworm with its own python3 (3.11),
  imported once as localhost/debian-base:bookworm and passed as the PYTHON_IMAGE build argument.
- The tag is a hash of the inputs (Dockerfile, .dockerignore, every file of the build context, the base image), so
  an unchanged tree is not built again; older qunbus images are removed (vfs keeps full copies).
- pip inside the build uses this machine's pip settings (indexes, find-links, CA bundle), mounted read-only for
  the build only: nothing of them ends up in the image.

`container(tag)` runs processes from the image for the tests (`buildah run --isolation chroot --network host`).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STORE = Path(os.environ.get("QUNBUS_IMAGE_STORE") or Path.home() / ".cache" / "qunbus-images")
IMAGE = "localhost/qunbus"
BASE_IMAGE = "localhost/debian-base:bookworm"
BASE_PACKAGES = "python3,python3-venv,ca-certificates"
BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
TOOLS = {"buildah": "buildah", "mmdebstrap": "mmdebstrap"}  # command -> Debian package
BUILD_MOUNTS = Path("/tmp/qunbus-build")  # noqa: S108 - a path inside the build
PIP_KEYS = {
    "index-url",
    "extra-index-url",
    "find-links",
    "cert",
    "trusted-host",
    "timeout",
    "default-timeout",
}


class ImageUnavailableError(RuntimeError):
    """buildah cannot run on this machine (and could not be installed): the reason."""


class BuildFailedError(RuntimeError):
    """The Dockerfile did not build; the message ends with the build log's tail."""


@dataclass(frozen=True)
class Built:
    tag: str
    seconds: float
    cached: bool
    size_bytes: int


def buildah(*args: str) -> list[str]:
    return [
        "buildah",
        "--root",
        str(STORE / "storage"),
        "--runroot",
        str(STORE / "run"),
        "--storage-driver",
        "vfs",
        *args,
    ]


def _run(args: Sequence[str], env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, check=False, env=env)  # noqa: S603 - fixed tools


# -- tools ------------------------------------------------------------------------------------------------------


def ensure_tools() -> None:
    """buildah and mmdebstrap on PATH, installed from Debian when missing and possible."""
    missing = [command for command in TOOLS if shutil.which(command) is None]
    if missing and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        _run(["apt-get", "update", "-qq"], env=env)
        _run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *(TOOLS[c] for c in missing)],
            env=env,
        )
        missing = [command for command in TOOLS if shutil.which(command) is None]
    if missing:
        raise ImageUnavailableError(
            f"{', '.join(missing)} not installed and not installable here (needs root and apt-get): "
            "install Debian's buildah and mmdebstrap"
        )
    probe = _run(buildah("images", "--quiet"))
    if probe.returncode != 0:
        raise ImageUnavailableError(f"buildah cannot run here: {probe.stderr.strip()}")


def image_exists(ref: str) -> bool:
    return _run(buildah("inspect", "--type", "image", ref)).returncode == 0


def _inspect(ref: str) -> dict[str, object]:
    result = _run(buildah("inspect", "--type", "image", ref))
    if result.returncode != 0:
        raise BuildFailedError(result.stderr)
    found: dict[str, object] = json.loads(result.stdout)
    return found


def image_id(ref: str) -> str:
    return str(_inspect(ref)["FromImageID"])


def image_size(ref: str) -> int:
    """Bytes of the image's layers (uncompressed)."""
    manifest = json.loads(str(_inspect(ref)["Manifest"]))
    return sum(int(layer["size"]) for layer in manifest["layers"])


# -- the base image ---------------------------------------------------------------------------------------------


def ensure_base() -> str:
    """localhost/debian-base:bookworm, made here from Debian packages once; returns its id."""
    if not image_exists(BASE_IMAGE):
        with tempfile.TemporaryDirectory(prefix="qunbus-base-") as tmp:
            tar = Path(tmp) / "base.tar"
            made = _run(
                ["mmdebstrap", "--variant=minbase", f"--include={BASE_PACKAGES}", "bookworm", str(tar)]
            )
            if made.returncode != 0:
                raise BuildFailedError(f"mmdebstrap failed:\n{made.stderr[-3000:]}")
            container = _run(buildah("from", "scratch")).stdout.strip()
            try:
                for step in (
                    ["add", container, str(tar), "/"],
                    ["config", "--env", f"PATH={BASE_PATH}", "--cmd", "python3", container],
                    ["commit", container, BASE_IMAGE],
                ):
                    done = _run(buildah(*step))
                    if done.returncode != 0:
                        raise BuildFailedError(f"buildah {step[0]} failed:\n{done.stderr[-3000:]}")
            finally:
                _run(buildah("rm", container))
    return image_id(BASE_IMAGE)


# -- the build context and its hash -----------------------------------------------------------------------------


@cache
def _dockerignore(root: Path) -> tuple[tuple[bool, re.Pattern[str], str], ...]:
    """(include?, regex, glob) per line of .dockerignore, in order; the last matching line decides, as in Docker."""
    patterns = []
    for raw in (root / ".dockerignore").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        include = line.startswith("!")
        glob = line.removeprefix("!").strip("/")
        regex = ""
        index = 0
        while index < len(glob):
            if glob.startswith("**", index):
                regex += ".*"
                index += 2
            elif glob[index] == "*":
                regex += "[^/]*"
                index += 1
            elif glob[index] == "?":
                regex += "[^/]"
                index += 1
            else:
                regex += re.escape(glob[index])
                index += 1
        patterns.append((include, re.compile(regex + "(/.*)?"), glob))
    return tuple(patterns)


def in_build_context(path: str, root: Path = ROOT) -> bool:
    included = True
    for include, pattern, _ in _dockerignore(root):
        if pattern.fullmatch(path):
            included = include
    return included


def context_files(root: Path = ROOT) -> list[str]:
    """Every file the build context holds (paths relative to root), sorted."""
    includes = [glob for include, _, glob in _dockerignore(root) if include]
    found = []
    for directory, dirnames, filenames in os.walk(root):
        relative = Path(directory).relative_to(root).as_posix()
        prefix = "" if relative == "." else relative + "/"
        dirnames[:] = sorted(
            name
            for name in dirnames
            if in_build_context(prefix + name, root)
            or any(g.startswith(prefix + name + "/") for g in includes)
        )
        found += [prefix + name for name in filenames if in_build_context(prefix + name, root)]
    return sorted(found)


def input_hash(root: Path, base_id: str) -> str:
    digest = hashlib.sha256(base_id.encode())
    for name in ("Dockerfile", ".dockerignore", *context_files(root)):
        digest.update(name.encode() + b"\0" + hashlib.sha256((root / name).read_bytes()).digest())
    return digest.hexdigest()[:16]


# -- pip settings for the build ---------------------------------------------------------------------------------


def pip_settings() -> dict[str, str]:
    """This machine's pip settings that locate packages (configuration files and PIP_* variables)."""
    result = _run([sys.executable, "-m", "pip", "config", "list"])
    settings: dict[str, str] = {}
    for line in result.stdout.splitlines():
        key, _, value = line.partition("=")
        name = key.rsplit(".", 1)[-1]
        if name in PIP_KEYS:
            settings[name] = value.strip().strip("'\"")
    return settings


def _local_path(location: str) -> Path | None:
    path = Path(location.removeprefix("file://")) if location.startswith(("file://", "/")) else None
    return path if path is not None and path.exists() else None


def pip_mounts(workdir: Path) -> tuple[list[str], str | None]:
    """`--volume` arguments that hand the build this machine's pip settings and the local paths they name, all
    under /tmp/qunbus-build (only empty mount points stay in the image, in /tmp), and the config file's path in
    the build (the Dockerfile's PIP_CONFIG_FILE argument); None when there is nothing to hand over."""
    settings = pip_settings()
    if not settings:
        return [], None
    volumes: dict[Path, str] = {}

    def mount(source: Path, name: str) -> str:
        volumes[source] = str(BUILD_MOUNTS / name)
        return volumes[source]

    lines = ["[global]"]
    for key, value in sorted(settings.items()):
        if key == "cert":
            lines.append(f"cert = {mount(Path(value), 'pip-ca.pem')}")
        elif key in {"find-links", "extra-index-url", "index-url"}:
            kept = []
            for location in value.split():
                local = _local_path(location)
                if local is None:
                    kept += [] if location.startswith(("file://", "/")) else [location]
                elif key == "find-links":
                    kept.append(mount(local, f"links-{len(volumes)}"))
                else:  # a local PEP 503 index keeps its files beside `simple/`: mount its parent
                    kept.append(f"file://{mount(local.parent, f'index-{len(volumes)}')}/{local.name}")
            if kept:
                lines.append(f"{key} = {' '.join(kept)}")
        else:
            lines.append(f"{key} = {value}")
    config = workdir / "pip.conf"
    config.write_text("\n".join(lines) + "\n")
    in_build = mount(config, "pip.conf")
    return [f"--volume={source}:{target}:ro" for source, target in volumes.items()], in_build


# -- building ---------------------------------------------------------------------------------------------------


def build(root: Path = ROOT, *, log: Path | None = None) -> Built:
    """The image of this tree: built now, or found from an earlier build of the same inputs."""
    started = time.monotonic()
    ensure_tools()
    base_id = ensure_base()
    tag = f"{IMAGE}:{input_hash(root, base_id)}"
    if image_exists(tag):
        return Built(tag, time.monotonic() - started, cached=True, size_bytes=image_size(tag))
    _probe_run()
    log = log or STORE / "build.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="qunbus-build-") as tmp, log.open("w") as out:
        volumes, pip_config = pip_mounts(Path(tmp))
        command = buildah(
            "bud",
            "--isolation",
            "chroot",
            "--build-arg",
            f"PYTHON_IMAGE={BASE_IMAGE}",
            *([f"--build-arg=PIP_CONFIG_FILE={pip_config}"] if pip_config else []),
            *volumes,
            "--tag",
            tag,
            "--file",
            str(root / "Dockerfile"),
            str(root),
        )
        code = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=False).returncode  # noqa: S603
    if code != 0:
        lines = log.read_text().splitlines()
        # pip explains a failed resolution far above the tail: bring its reasons forward.
        reasons = ("conflict is caused by", "depends on", "user requested", "require a different python")
        hints = [line for line in lines[:-40] if any(reason in line for reason in reasons)]
        tail = "\n".join([*hints, *lines[-40:]])
        raise BuildFailedError(f"buildah bud failed (log: {log}):\n{tail}")
    _remove_older(tag)
    return Built(tag, time.monotonic() - started, cached=False, size_bytes=image_size(tag))


def _probe_run() -> None:
    """`buildah run` in chroot isolation needs mounts and chroot (root, or a privileged container): where they are
    refused, buildah cannot build here at all."""
    container = _run(buildah("from", "--pull-never", BASE_IMAGE)).stdout.strip()
    try:
        ran = _run(buildah("run", "--isolation", "chroot", container, "--", "python3", "-c", "pass"))
    finally:
        _run(buildah("rm", container))
    if ran.returncode != 0:
        refused = re.search(r"not permitted|permission denied", ran.stderr, flags=re.IGNORECASE)
        error = ImageUnavailableError if refused else BuildFailedError
        raise error(f"buildah run in the base image failed: {ran.stderr.strip()[-2000:]}")


def _remove_older(keep: str) -> None:
    listed = _run(buildah("images", "--json"))
    for image in json.loads(listed.stdout or "[]"):
        names = image.get("names") or []
        if names and all(name.startswith(IMAGE + ":") and name != keep for name in names):
            _run(buildah("rmi", "--force", image["id"]))
    _run(buildah("rmi", "--prune"))


# -- running ----------------------------------------------------------------------------------------------------


@dataclass
class Container:
    """A working container of an image; `start` runs processes in it on the host's network."""

    name: str
    processes: list[subprocess.Popen[bytes]]

    def start(
        self, args: Sequence[str], env: Mapping[str, str], *, log: Path | None = None
    ) -> subprocess.Popen[bytes]:
        command = buildah(
            "run",
            "--isolation",
            "chroot",
            "--network",
            "host",
            *(f"--env={key}={value}" for key, value in env.items()),
            self.name,
            "--",
            *args,
        )
        with log.open("wb") if log else open(os.devnull, "wb") as output:
            process = subprocess.Popen(  # noqa: S603 - buildah, with the caller's command for the container
                command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.processes.append(process)
        return process

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM to each process group (the service inside stops as in Kubernetes), then SIGKILL."""
        for process in self.processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@contextlib.contextmanager
def container(tag: str) -> Iterator[Container]:
    name = f"qunbus-run-{secrets.token_hex(4)}"
    made = _run(buildah("from", "--pull-never", "--name", name, tag))
    if made.returncode != 0:
        raise BuildFailedError(f"buildah from {tag} failed: {made.stderr}")
    running = Container(name, [])
    try:
        yield running
    finally:
        running.stop()
        _run(buildah("rm", name))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--root", type=Path, default=ROOT, help="the tree to build (default: this one)")
    args = parser.parse_args(argv)
    try:
        built = build(args.root)
    except (ImageUnavailableError, BuildFailedError) as error:
        sys.stderr.write(f"{error}\n")
        return 1
    how = "found (inputs unchanged)" if built.cached else "built"
    sys.stdout.write(
        f"{built.tag} {how} in {built.seconds:.0f} s, {built.size_bytes / 1e6:.0f} MB (uncompressed layers)\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
