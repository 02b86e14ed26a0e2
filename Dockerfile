# syntax=docker/dockerfile:1
# A small image for one VPS: the venv is built in a throw-away stage (no compilers or pip cache left),
# the final stage runs as an unprivileged user and keeps everything it writes in /app/data.

FROM python:3.11-slim AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY locales ./locales
# The same install as the README's quick start.
RUN python3 -m venv .venv && .venv/bin/pip install .

FROM python:3.11-slim
# matplotlib (the /stats chart) keeps its font cache in MPLCONFIGDIR; the home folder is not writable.
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MPLCONFIGDIR=/tmp/matplotlib \
    PATH="/app/.venv/bin:${PATH}"
# DejaVu: the /stats chart's Cyrillic labels (Pillow's built-in font has Latin letters only).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 bot \
    && useradd --system --uid 10001 --gid bot --home-dir /app --no-create-home --shell /usr/sbin/nologin bot
WORKDIR /app
# The venv keeps its absolute path (/app/.venv), so it works unchanged in this stage.
COPY --from=builder /app/.venv ./.venv
# The bot is started from /app so that `python -m bot` imports ./bot and finds ./locales beside it.
COPY bot ./bot
COPY locales ./locales
RUN install -d -o bot -g bot -m 0700 /app/data
USER 10001:10001
# Database, generated key file and heartbeat: DATABASE_PATH and KEY_FILE default to data/... under /app.
VOLUME ["/app/data"]
# Only used in webhook mode (WEBHOOK_PORT).
EXPOSE 8080
# Settings, database and keys without network, plus the heartbeat the running bot writes every 15 s.
HEALTHCHECK --interval=60s --timeout=30s --start-period=60s --retries=3 \
    CMD ["python", "-m", "bot", "check", "--offline", "--max-heartbeat-age", "90"]
# Updates in flight get up to 30 s to finish; give `docker stop` more than that (compose sets 45 s).
STOPSIGNAL SIGTERM
CMD ["python", "-m", "bot"]
