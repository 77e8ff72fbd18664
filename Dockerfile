# omni-telemetry: one image for every role (collect, ingest, schema apply, ...).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY omni_telemetry ./omni_telemetry
COPY collectors ./collectors
COPY exporters ./exporters
COPY dashboards ./dashboards
COPY service ./service
RUN pip install . \
 && rm -rf /src

# Non-root, fixed ids (matches runAsUser/runAsGroup 10001 in platform_manifests).
# /var/lib/omni holds the spool and discovered CA bundles; mount a volume there when the
# root filesystem is read-only.
RUN groupadd --system --gid 10001 omni \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/omni --no-create-home \
      --shell /usr/sbin/nologin omni \
 && mkdir -p /var/lib/omni \
 && chown 10001:10001 /var/lib/omni

WORKDIR /var/lib/omni
USER 10001:10001

# 4318 OTLP/HTTP ingest, 9464 collector self-metrics (metrics_port).
EXPOSE 4318 9464

ENTRYPOINT ["omni-telemetry"]
CMD ["--help"]
