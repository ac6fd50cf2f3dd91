# modelgate: the API server. Migrations are applied by `modelgate serve` at start.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md alembic.ini ./
COPY migrations ./migrations
COPY src ./src
RUN pip install . && useradd --system --uid 10001 modelgate && mkdir /data && chown modelgate /data

USER modelgate
# The embedded default keeps its SQLite file (and its keyring) in /data.
ENV MODELGATE_DATABASE_URL=sqlite+aiosqlite:////data/modelgate.db
EXPOSE 8080
CMD ["modelgate", "serve", "--host", "0.0.0.0", "--port", "8080"]
