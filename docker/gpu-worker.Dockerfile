# The GPU worker image: CUDA runtime + torch + transformers, serving the gpu queue.
FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_SETTINGS_MODULE=config.settings.prod \
    DEBIAN_FRONTEND=noninteractive
RUN apt-get update && apt-get install -y --no-install-recommends \
      software-properties-common && add-apt-repository -y ppa:deadsnakes/ppa && \
    apt-get update && apt-get install -y --no-install-recommends python3.11 python3.11-venv && \
    rm -rf /var/lib/apt/lists/*
RUN python3.11 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH VENV=/opt/venv
WORKDIR /app
COPY pyproject.toml README.md ./
COPY config ./config
COPY apps ./apps
COPY workers ./workers
RUN pip install --no-cache-dir "torch==2.13.0" && pip install --no-cache-dir .
COPY manage.py ./
COPY scripts ./scripts
CMD ["./scripts/gpu-worker.sh"]
