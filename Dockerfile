# Slim image of the service; PostGIS runs elsewhere (see compose.yaml), reached via DATABASE_URL.

# Front-end assets from the npm registry (the map loads nothing from CDNs).
FROM node:20-slim AS assets
WORKDIR /assets
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error

FROM python:3.11-slim

# Two service processes by default (BROADBAND_WORKERS), each with its own connection pool.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    BROADBAND_WORKERS=2 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin broadband
# Transformation grids (22 MB): BETA2007 makes Gauss-Krüger imports accurate to centimetres.
# postgresql-client: pg_dump, pg_restore and psql for `broadband backup` / `restore` (15, as the
# database in compose.yaml).
RUN apt-get update \
    && apt-get install --yes --no-install-recommends proj-data postgresql-client \
    && rm -rf /var/lib/apt/lists/*

# Dependencies first, so code changes do not reinstall them.
COPY pyproject.toml README.md LICENSE ./
RUN mkdir service && touch service/__init__.py \
    && pip install . && pip uninstall --yes broadband-coverage && rm -rf service build

COPY alembic.ini ./
COPY migrations ./migrations
COPY geodata ./geodata
COPY service ./service
COPY --from=assets /assets/node_modules/leaflet/dist ./node_modules/leaflet/dist
COPY --from=assets /assets/node_modules/@geoman-io/leaflet-geoman-free/dist ./node_modules/@geoman-io/leaflet-geoman-free/dist
COPY --from=assets /assets/node_modules/swagger-ui-dist ./node_modules/swagger-ui-dist
RUN pip install --no-deps -e . && chown -R broadband:broadband /app

USER broadband
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

# Prestart: wait for the database, migrate, load the default data once, then serve.
CMD ["sh", "-c", "broadband db wait && broadband migrate && broadband seed --if-empty && exec broadband serve --host 0.0.0.0 --port 8000"]
