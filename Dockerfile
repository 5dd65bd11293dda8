# syntax=docker/dockerfile:1
# Build stage: wheels for every dependency, compiled once.
FROM python:3.11-slim AS build
WORKDIR /src
COPY requirements.txt .
RUN pip wheel --no-cache-dir --wheel-dir /wheels -r requirements.txt

# Runtime stage: no compilers, a non-root user.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_SETTINGS_MODULE=authserver.settings
RUN useradd --create-home --uid 10001 app
WORKDIR /app
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/* && rm -rf /wheels
COPY --chown=app:app . .
RUN DEBUG=true python manage.py collectstatic --noinput
USER app
EXPOSE 8000
CMD ["gunicorn", "authserver.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "2"]
