# The SignStream gateway (`signstream serve --triton-url ...`): stateless, no models, no GPU.
#   docker build -f deploy/docker/gateway.Dockerfile -t signstream/gateway:0.1.0 .
FROM python:3.11-slim-bookworm

# OpenGL/GLib for opencv-contrib and mediapipe (style images are decoded here; extraction runs in Triton).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY server server
COPY kernels kernels
COPY clients clients
COPY benchmarks benchmarks
COPY protos protos
RUN pip install --no-cache-dir -c constraints.txt . \
 && rm -rf /src

# numba caches its compiled kernels next to the code unless told otherwise; a writable place for it.
ENV NUMBA_CACHE_DIR=/tmp/numba-cache PYTHONUNBUFFERED=1
RUN useradd --uid 10001 --create-home signstream
USER 10001
WORKDIR /home/signstream
EXPOSE 50051 8090
ENTRYPOINT ["signstream"]
CMD ["serve", "--host", "0.0.0.0"]
