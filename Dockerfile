# omni-telemetry: one image for every role (collect, ingest, serve, schema apply, ...).
#
#   docker build -t ghcr.io/omni-telemetry/omni-telemetry:0.1.0 .
#
# The tag must equal `version` in pyproject.toml: platform_manifests pins it, and
# tests/platform_manifests checks both.

# ---- build: install the package and its pinned dependencies into a virtualenv -------------
FROM python:3.11.13-slim-bookworm AS build

ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN python -m venv /opt/omni
WORKDIR /src
COPY pyproject.toml README.md ./
COPY omni_core ./omni_core
COPY omni_telemetry ./omni_telemetry
COPY collectors ./collectors
COPY exporters ./exporters
COPY dashboards ./dashboards
COPY service ./service
RUN /opt/omni/bin/pip install --no-compile . \
 && /opt/omni/bin/pip uninstall --yes pip setuptools wheel

# ---- run: the same Python, the virtualenv, nothing else (no pip, no sources) ----------------
FROM python:3.11.13-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/omni/bin:$PATH

# The base image's pip and setuptools are not needed at run time.
RUN python -m pip uninstall --yes pip setuptools wheel \
 && groupadd --system --gid 10001 omni \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/omni --no-create-home \
      --shell /usr/sbin/nologin omni \
 && mkdir -p /var/lib/omni \
 && chown 10001:10001 /var/lib/omni

COPY --from=build /opt/omni /opt/omni

# Non-root, fixed numeric ids (= runAsUser/runAsGroup 10001 in platform_manifests).
# /var/lib/omni holds the spool and discovered CA bundles; the manifests mount an emptyDir
# there and at /tmp, since the root filesystem is read-only.
WORKDIR /var/lib/omni
USER 10001:10001

# 4318 OTLP/HTTP ingest, 8080 health API, 9464 collector self-metrics (metrics_port).
EXPOSE 4318 8080 9464

ENTRYPOINT ["omni-telemetry"]
CMD ["--help"]
