# syntax=docker/dockerfile:1
# Build stage: wheels for every dependency, compiled once.
FROM python:3.11-slim AS build
WORKDIR /src
COPY requirements.txt .
RUN pip wheel --no-cache-dir --wheel-dir /wheels -r requirements.txt

# Runtime stage: no compilers, a non-root user.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=authserver.settings \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus
RUN useradd --create-home --uid 10001 app
WORKDIR /app
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/* && rm -rf /wheels
COPY --chown=app:app . .
# Static files (admin included) collected into the image for WhiteNoise. The throw-away
# key file keeps settings from baking a signing key into a layer.
RUN DEBUG=true OIDC_RSA_PRIVATE_KEY_FILE=/tmp/build-key.pem python manage.py collectstatic --noinput \
    && rm -f /tmp/build-key.pem \
    && mkdir -p /app/var /tmp/prometheus && chown app:app /app/var /tmp/prometheus
USER app
# var/ holds the id_token signing key unless OIDC_RSA_PRIVATE_KEY is set: mount a volume.
VOLUME ["/app/var"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]
CMD ["gunicorn", "-c", "gunicorn.conf.py", "authserver.wsgi:application"]
