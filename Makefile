# Two commands on a fresh machine with only Python 3.11:
#   make run   - create .venv, install the app, start it on http://127.0.0.1:7860
#   make test  - create .venv, install app + test tools (+ Debian's Chromium, Node.js and npm if missing),
#                the static page's packages (npm ci), lint, run all tests
#   make web   - the static page on http://127.0.0.1:8000 with the app's checkpoints (offline: the twins)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench bench-web gpu-check prefetch chromium node web screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Stamp files: reinstall only when the requirement files change. constraints.txt fixes every
# version (the ones the tests ran on); requirements*.txt only say what is needed.
# requirements.txt keeps torch within what ZeroGPU accepts (a Space installs it); here torch is
# constraints.txt's (the tested default), so its line is left out of the copy installed.
APP_REQUIREMENTS := $(VENV)/requirements-app.txt
$(APP_REQUIREMENTS): requirements.txt | $(BIN)/python
	grep -vE '^torch([<>=!~ ;]|$$)' requirements.txt > $@  # torch's line only, not torchao's

$(VENV)/.runtime: $(APP_REQUIREMENTS) requirements-platform.txt constraints.txt
	$(BIN)/pip install -q torch -r $(APP_REQUIREMENTS) -r requirements-platform.txt -c constraints.txt
	touch $@

$(VENV)/.dev: $(APP_REQUIREMENTS) requirements-platform.txt requirements-dev.txt constraints.txt
	$(BIN)/pip install -q torch -r $(APP_REQUIREMENTS) -r requirements-dev.txt -c constraints.txt
	touch $@ $(VENV)/.runtime

run: $(VENV)/.runtime
	$(BIN)/python app.py

# Browser tests drive Debian's Chromium (never `playwright install`, which downloads a browser).
chromium:
	@test -x /usr/bin/chromium || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -q && $$SUDO apt-get install -y -q chromium; }

# The static page (web/) loads transformers.js and ONNX Runtime Web from the lock file's packages.
# --ignore-scripts: no install script runs (onnxruntime-node's would fetch binaries the page never uses).
NODE_MODULES := web/node_modules/.package-lock.json
node:
	@command -v npm >/dev/null || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -q && $$SUDO apt-get install -y -q nodejs npm; }

$(NODE_MODULES): web/package-lock.json | node
	cd web && npm ci --ignore-scripts --no-audit --no-fund
	touch $@

web: $(VENV)/.runtime $(NODE_MODULES)
	$(BIN)/python -m distilbert_demo web

# ruff's linter and its formatter (the code is formatted by `ruff format`, no hand-kept exceptions).
lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: $(VENV)/.dev chromium $(NODE_MODULES) lint
	HF_HUB_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False $(BIN)/python -m pytest

bench: $(VENV)/.runtime
	$(BIN)/python -m benchmarks.fill_mask_path

# Both models in headless Chromium (WebAssembly) and in PyTorch on this machine, side by side.
bench-web: $(VENV)/.dev chromium $(NODE_MODULES)
	$(BIN)/python -m benchmarks.web_vs_torch

# On a CUDA machine: every handler on the GPU, PASS/FAIL checks and a latency table (a few minutes).
gpu-check: $(VENV)/.runtime
	$(BIN)/python -m benchmarks.gpu_check

# Pictures for the README: every tab in presenter mode at 1280x720 and a GIF of the race (assets/screenshots).
screenshots: $(VENV)/.dev chromium
	$(BIN)/python -m tools.screenshots

prefetch: $(VENV)/.runtime
	$(BIN)/python -m distilbert_demo prefetch

clean:
	rm -rf $(VENV) artifacts .pytest_cache .ruff_cache web/node_modules web/dist
