# syntax=docker/dockerfile:1
# One image for every qunbus service; the container's arguments choose the service:
#   docker run ghcr.io/qunbus/qunbus:0.1.0 services.tagger      (or services.gateway, services.github_sync, ...)
#   docker run ghcr.io/qunbus/qunbus:0.1.0 services.shared.provision --replicas 3
# `make image` builds it without a registry or a Docker engine (buildah, on a Debian base made by mmdebstrap:
# tools/image.py); linted by hadolint and tests/deploy/test_dockerfile.py, built and run by tests/deploy/test_image.py.
# Works on the official python:3.11 slim image and on Debian bookworm's own python3 (3.11): only `python3`,
# `apt-get` and the Debian package names are assumed.

ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

# --- build: the pinned dependencies in a virtualenv, the project installed from its source tree ---------------
FROM ${PYTHON_IMAGE} AS build
# The build machine's pip settings (an index mirror, a CA bundle), when it hands them over for the build only
# (tools/image.py mounts them); unset, pip uses PyPI.
ARG PIP_CONFIG_FILE
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
# A current pip: Debian's 23.0 cannot read the metadata of some pinned releases.
RUN python3 -m venv /opt/qunbus/venv \
    && /opt/qunbus/venv/bin/pip install --quiet pip==26.3
WORKDIR /opt/qunbus/src
# The dependencies first (pinned by constraints.txt), so that a layer cache keeps them when only the code changed.
COPY pyproject.toml constraints.txt ./
RUN /opt/qunbus/venv/bin/python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" > /tmp/requirements.txt \
    && /opt/qunbus/venv/bin/pip install --progress-bar off -c constraints.txt -r /tmp/requirements.txt
COPY schemas ./schemas
COPY services ./services
COPY examples ./examples
COPY tools ./tools
# Editable install: the packages are imported from /opt/qunbus/src, data files (tagger dictionaries, the
# simulator's page) included, whatever the wheel would carry. The same path exists in the runtime image.
RUN /opt/qunbus/venv/bin/pip install --quiet --no-deps -e . \
    && /opt/qunbus/venv/bin/python -m compileall -q /opt/qunbus
# The tagger's start cache (services/tagger/startcache.py: CC-CEDICT and jieba as loaded, 14 MB), made once here so
# that a replica starts in ~0.5 s instead of ~3 s.
RUN TAGGER_CACHE_DIR=/opt/qunbus/cache /opt/qunbus/venv/bin/python -c \
    "from services.tagger.engine import shared_analysis; shared_analysis()"

# --- runtime: the virtualenv on a clean slim image, as an unprivileged user -----------------------------------
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="qunbus" \
      org.opencontainers.image.description="WeChat group assistant: event-driven services over NATS JetStream" \
      org.opencontainers.image.source="https://github.com/qunbus/qunbus"
# The history service's report charts need a font with Chinese glyphs (Debian's WenQuanYi Micro Hei, 5 MB).
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends fonts-wqy-microhei=0.2.0-beta-3.1 \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
RUN groupadd --system --gid 10001 qunbus \
    && useradd --system --uid 10001 --gid qunbus --home-dir /var/lib/qunbus --create-home --shell /usr/sbin/nologin qunbus
COPY --from=build /opt/qunbus /opt/qunbus
ENV PATH=/opt/qunbus/venv/bin:$PATH \
    TAGGER_CACHE_DIR=/opt/qunbus/cache \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8080
WORKDIR /var/lib/qunbus
USER 10001:10001
EXPOSE 8080
# Kubernetes uses its own probes on /healthz and /readyz; this serves `docker run` and compose.
HEALTHCHECK --interval=30s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('HTTP_PORT', '8080') + '/healthz', timeout=2)"]
ENTRYPOINT ["python", "-m"]
CMD ["services.gateway"]
