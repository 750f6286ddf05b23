# SignStream — `make demo` and `make test` do all the set-up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LEXICON ?= lexicon
RESULTS ?= results
DEMO_SIGNS ?= ¶hello ¶name ¶sign ¶learn ¶thank-you ¶friend
NEURAL_SIZE ?= 256        # side of results/out_video_neural.mp4's frames (0: no NEURAL video)
# Debian packages the wheels need at run time: OpenGL/GLib for opencv-contrib and mediapipe;
# libpython3.11 for Triton's python-backend stub; libb64 for perf_analyzer (tritonclient wheel);
# chromium for the browser viewer's tests (Playwright drives it; it never downloads a browser);
# nginx, the L7 gRPC balancer of the multi-node rehearsal (tests/e2e/test_multinode.py; never started as a service).

# The `export` extra's torch is the CPU build (constraints.txt pins 2.13.0+cpu): from the wheel folder
# /opt/wheels where there is one, else from PyTorch's CPU index. Never a CUDA build.
TORCH_WHEELS ?= /opt/wheels
TORCH_SOURCE := $(if $(wildcard $(TORCH_WHEELS)/torch-*.whl),--find-links $(TORCH_WHEELS),--extra-index-url https://download.pytorch.org/whl/cpu)

.PHONY: install system-deps demo test clean

install: $(STAMP)

system-deps:
	@missing=""; \
	ldconfig -p | grep -q 'libGL.so.1 ' || missing="$$missing libgl1"; \
	ldconfig -p | grep -q 'libglib-2.0.so.0 ' || missing="$$missing libglib2.0-0"; \
	ldconfig -p | grep -q 'libpython3.11.so.1.0 ' || missing="$$missing libpython3.11"; \
	ldconfig -p | grep -q 'libb64.so.0d ' || missing="$$missing libb64-0d"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v nginx >/dev/null || ls /usr/sbin/nginx >/dev/null 2>&1 || missing="$$missing nginx"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

$(STAMP): pyproject.toml constraints.txt | system-deps
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "SignStream needs Python 3.11 (mediapipe 0.10.21 wheels)"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt $(TORCH_SOURCE) -e '.[test,export]'
	touch $(STAMP)

demo: install
	$(VENV)/bin/signstream lexicon demo $(LEXICON)
	@mkdir -p $(RESULTS)
	$(PY) -c 'import cv2, skimage.data; cv2.imwrite("$(RESULTS)/style_astronaut.png", cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR))'
	$(PY) -m signstream.clients.demo --lexicon $(LEXICON) --out $(RESULTS) \
	  --style $(RESULTS)/style_astronaut.png --num_interpolation 8 --neural-size $(NEURAL_SIZE) $(DEMO_SIGNS)

test: install
	$(PY) -m pytest -q -p no:cacheprovider

clean:
	rm -rf $(VENV) $(RESULTS) $(LEXICON) .pytest_cache
