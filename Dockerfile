# syntax=docker/dockerfile:1.7
# Omnihub: multi-stage build. The final image holds the installed wheel only and runs as a non-root user.

FROM python:3.12-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN apt-get update && apt-get install -y --no-install-recommends build-essential && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md LICENSE ./
COPY hub ./hub
COPY connectors ./connectors
COPY conversation ./conversation
COPY agent_console ./agent_console
RUN pip wheel --wheel-dir /wheels .

FROM python:3.12-slim AS runtime
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    OMNIHUB_VAR_DIR=/var/lib/omnihub
RUN groupadd --system --gid 10001 omnihub \
 && useradd --system --uid 10001 --gid omnihub --home-dir /var/lib/omnihub --create-home omnihub
COPY --from=build /wheels /wheels
RUN pip install /wheels/*.whl && rm -rf /wheels
USER omnihub
WORKDIR /var/lib/omnihub
VOLUME ["/var/lib/omnihub"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)" || exit 1
CMD ["omnihub", "serve", "--host", "0.0.0.0", "--port", "8000"]
