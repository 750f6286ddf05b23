# NVIDIA's Triton (NGC image; 24.10 is Triton 2.51, the server the pip wheel carries) with SignStream's
# python-backend models and the package they import.
#   docker build -f deploy/docker/triton.Dockerfile -t signstream/triton:0.1.0 .
# The chart points Triton at the model repository on S3 (--model-repository=s3://...); the copy baked
# in at /models serves when it is run without one (docker run ... tritonserver --model-repository=/models).
FROM nvcr.io/nvidia/tritonserver:24.10-py3

# SignStream pins Python 3.11 (mediapipe 0.10.21); this image's own python3 is 3.10. The python
# backend's stub must link the Python whose packages the models import: install 3.11 and use the
# 3.11 stub the nvidia-pytriton wheel ships, built from the same python backend release.
RUN apt-get update \
 && apt-get install -y --no-install-recommends software-properties-common \
 && add-apt-repository -y ppa:deadsnakes/ppa \
 && apt-get update \
 && apt-get install -y --no-install-recommends python3.11 python3.11-venv libpython3.11 libgl1 libglib2.0-0 \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY server server
COPY kernels kernels
COPY clients clients
COPY benchmarks benchmarks
COPY protos protos
RUN python3.11 -m venv /opt/signstream \
 && /opt/signstream/bin/pip install --no-cache-dir -c constraints.txt . \
 && cp /opt/signstream/lib/python3.11/site-packages/pytriton/tritonserver/python_backend_stubs/3.11/triton_python_backend_stub \
       /opt/tritonserver/backends/python/triton_python_backend_stub \
 && rm -rf /src
# The stub takes its packages from the first python3 on PATH.
ENV PATH=/opt/signstream/bin:${PATH} NUMBA_CACHE_DIR=/tmp/numba-cache

COPY model_repository /models
EXPOSE 8000 8001 8002
CMD ["tritonserver", "--model-repository=/models", "--exit-on-error=false", "--strict-readiness=false"]
