# Photo Factory images: one Dockerfile, a shared base stage, a target per dependency profile.
#
#   librarian   ingest (ExifTool)                      photo-factory librarian
#   processor   thumbnails, stitch, geocode, backup    photo-factory thumbnails|stitch|geocode|backup
#               (ffmpeg, libvips, rclone, pg_dump, ExifTool)
#   monitor     service-monitor (Docker API, alerts)   photo-factory monitor
#   dashboard   Streamlit dashboard (Docker API)       photo-factory dashboard
#
# Every target copies a marker from the `test` stage, so no image is produced unless the unit
# tests pass (with the legacy builder and with BuildKit alike). Plain Dockerfile syntax only
# (no RUN --mount), so docker-compose 1.29's builder works too.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------------------------------------
# System layers first: they change rarely, so a new Python pin does not re-run apt.
FROM ${PYTHON_IMAGE} AS os-base
ENV LANG=C.UTF-8 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PF_MIGRATIONS_DIR=/app/db/migrations \
    PF_INBOX_DIR=/data/inbox \
    PF_STORAGE_DIR=/data/storage \
    TZ=UTC PUID=1000 PGID=1000
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      ca-certificates gosu passwd tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd -g 1000 pf && useradd -u 1000 -g pf -d /home/pf -m -s /usr/sbin/nologin pf \
 && python -m venv /opt/venv
WORKDIR /app
COPY docker/entrypoint.sh /usr/local/bin/pf-entrypoint
COPY docker/healthcheck.sh /usr/local/bin/pf-healthcheck
ENTRYPOINT ["/usr/local/bin/pf-entrypoint"]
CMD ["photo-factory", "--help"]

FROM os-base AS processor-system
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      ffmpeg libvips42 rclone postgresql-client libimage-exiftool-perl \
 && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml requirements.lock docker/extra_requirements.py /app/

FROM os-base AS base
COPY pyproject.toml requirements.lock docker/extra_requirements.py /app/
RUN python extra_requirements.py pyproject.toml > /tmp/req.txt \
 && pip install -q -c requirements.lock -r /tmp/req.txt

# --- the gate: the unit tests run against the same system stack -----------------------------
FROM processor-system AS test
RUN pip install -q -r requirements.lock
COPY . /src
RUN cd /src && pip install -q --no-deps . \
 && (python -m pytest tests/unit -q -p no:cacheprovider -o addopts="--strict-markers" ; rc=$?; \
     [ $rc -eq 0 ] || [ $rc -eq 5 ] || exit $rc) \
 && touch /unit-tests-passed

# ---------------------------------------------------------------------------------------------
FROM base AS librarian
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libimage-exiftool-perl \
 && rm -rf /var/lib/apt/lists/*
RUN python extra_requirements.py pyproject.toml librarian > /tmp/req.txt \
 && pip install -q -c requirements.lock -r /tmp/req.txt
COPY --from=test /unit-tests-passed /app/
COPY . /app/
RUN pip install -q --no-deps /app
CMD ["photo-factory", "librarian"]

FROM processor-system AS processor
RUN python extra_requirements.py pyproject.toml processor > /tmp/req.txt \
 && (grep -i '^pyvips' requirements.lock >> /tmp/req.txt || true) \
 && pip install -q -c requirements.lock -r /tmp/req.txt
COPY --from=test /unit-tests-passed /app/
COPY . /app/
RUN pip install -q --no-deps /app
CMD ["photo-factory", "thumbnails"]

FROM base AS monitor
RUN python extra_requirements.py pyproject.toml monitor > /tmp/req.txt \
 && pip install -q -c requirements.lock -r /tmp/req.txt
COPY --from=test /unit-tests-passed /app/
COPY . /app/
RUN pip install -q --no-deps /app
CMD ["photo-factory", "monitor"]

FROM base AS dashboard
RUN python extra_requirements.py pyproject.toml dashboard monitor > /tmp/req.txt \
 && pip install -q -c requirements.lock -r /tmp/req.txt
COPY --from=test /unit-tests-passed /app/
COPY . /app/
RUN pip install -q --no-deps /app
EXPOSE 8501
CMD ["photo-factory", "dashboard"]
