# One image for the API, the migration step and the workers (docker-compose.yml).

# The web pages' front-end files, from the npm registry as web/package-lock.json pins them.
FROM node:20-bookworm-slim AS web-assets
WORKDIR /app
COPY web/package.json web/package-lock.json web/
COPY scripts/vendor-web scripts/
RUN scripts/vendor-web

FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH \
    TORCHGRADE_DATA_DIR=/var/lib/torchgrade TORCHGRADE_REFERENCE_DIR=/app/reference

WORKDIR /app
RUN python -m venv /opt/venv && pip install --upgrade pip
# Dependencies first, so that a code change does not reinstall torch.
COPY pyproject.toml ./
RUN mkdir grader api workers && touch grader/__init__.py api/__init__.py workers/__init__.py \
    && pip install . && pip uninstall -y torchgrade
COPY . .
COPY --from=web-assets /app/web/static/vendor web/static/vendor
RUN pip install --no-deps . && mkdir -p /var/lib/torchgrade

EXPOSE 8000
CMD ["torchgrade", "serve", "--no-worker", "--host", "0.0.0.0", "--port", "8000"]
