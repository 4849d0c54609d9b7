# syntax=docker/dockerfile:1
# opsbot's image: `opsbot run` on a slim Python, as a user that is not root.
#   docker build -t opsbot .
#   docker run --rm -v "$PWD/config.yaml:/etc/opsbot/config.yaml:ro" --env-file .env opsbot
# compose.yaml runs it next to PostgreSQL (README: "Container and compose").

# The Python the tests run on (pyproject.toml: requires-python >= 3.11).
ARG PYTHON=3.11

FROM python:${PYTHON}-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# What the package is built from, and nothing else (tests, benchmarks, the local config).
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
# The runtime dependencies only (no [dev]); the PostgreSQL driver, psycopg[binary], is one
# of them. Every dependency has a wheel for this Python, so no compiler is needed.
RUN python -m venv /opt/opsbot \
    && /opt/opsbot/bin/pip install . \
    && /opt/opsbot/bin/pip uninstall --yes pip

FROM python:${PYTHON}-slim-bookworm
# A font that can write Chinese, for the weekly summary's chart (without one its labels
# fall back to English). `--build-arg CJK_FONT=` leaves it out (17 MB).
ARG CJK_FONT=fonts-wqy-zenhei
RUN if [ -n "$CJK_FONT" ]; then \
        apt-get update \
        && apt-get install --yes --no-install-recommends "$CJK_FONT" \
        && rm -rf /var/lib/apt/lists/*; \
    fi \
    && useradd --create-home --uid 10001 --user-group opsbot \
    && install --directory --owner opsbot --group opsbot /var/lib/opsbot /etc/opsbot
COPY --from=build /opt/opsbot /opt/opsbot
# OPSBOT_HOST: the shipped config.yaml's server.host, every interface in a container (else
# no published port reaches the bot, while the healthcheck, asked from inside, passes).
ENV PATH=/opt/opsbot/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    OPSBOT_CONFIG=/etc/opsbot/config.yaml \
    OPSBOT_HOST=0.0.0.0
USER opsbot
# The default SQLite file (storage.url: sqlite:///./opsbot.db) lands here, when no
# PostgreSQL is configured; mount a volume on it to keep it.
WORKDIR /var/lib/opsbot
# matplotlib's font list, built once here rather than at the first chart.
RUN python -c "import matplotlib.font_manager"

# server.port's default (a config of your own must listen on 0.0.0.0, as OPSBOT_HOST does).
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
# SIGTERM (`docker stop`) stops it within 10 s, with exit status 0: what is in flight is
# finished first (README: "Container and compose").
STOPSIGNAL SIGTERM
ENTRYPOINT ["opsbot"]
CMD ["run"]
