# syntax=docker/dockerfile:1
# One image for every qunbus service; the container's arguments choose the service:
#   docker run ghcr.io/qunbus/qunbus:0.1.0 services.tagger      (or services.gateway, services.github_sync, ...)
#   docker run ghcr.io/qunbus/qunbus:0.1.0 services.shared.provision --replicas 3
# Linted by hadolint and tests/deploy/test_dockerfile.py (no Docker engine runs in CI).

ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

# --- build: the pinned dependencies in a virtualenv, the project installed from its source tree ---------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/qunbus/venv
WORKDIR /opt/qunbus/src
COPY pyproject.toml constraints.txt ./
COPY schemas ./schemas
COPY services ./services
COPY examples ./examples
COPY tools ./tools
# Editable install: the packages are imported from /opt/qunbus/src, data files (tagger dictionaries, the
# simulator's page) included, whatever the wheel would carry. The same path exists in the runtime image.
RUN /opt/qunbus/venv/bin/pip install -c constraints.txt -e . \
    && /opt/qunbus/venv/bin/python -m compileall -q /opt/qunbus

# --- runtime: the virtualenv on a clean slim image, as an unprivileged user -----------------------------------
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="qunbus" \
      org.opencontainers.image.description="WeChat group assistant: event-driven services over NATS JetStream" \
      org.opencontainers.image.source="https://github.com/qunbus/qunbus"
RUN groupadd --system --gid 10001 qunbus \
    && useradd --system --uid 10001 --gid qunbus --home-dir /var/lib/qunbus --create-home --shell /usr/sbin/nologin qunbus
COPY --from=build /opt/qunbus /opt/qunbus
ENV PATH=/opt/qunbus/venv/bin:$PATH \
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
