# Two commands on a fresh machine with only Python 3.11:
#   make run   - create .venv, install the app, start it on http://127.0.0.1:7860
#   make test  - create .venv, install app + test tools (+ Debian's Chromium if missing), lint, run all tests
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench gpu-check prefetch chromium screenshots clean

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

# ruff's linter and its formatter (the code is formatted by `ruff format`, no hand-kept exceptions).
lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: $(VENV)/.dev chromium lint
	HF_HUB_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False $(BIN)/python -m pytest

bench: $(VENV)/.runtime
	$(BIN)/python -m benchmarks.fill_mask_path

# On a CUDA machine: every handler on the GPU, PASS/FAIL checks and a latency table (a few minutes).
gpu-check: $(VENV)/.runtime
	$(BIN)/python -m benchmarks.gpu_check

# Pictures for the README: every tab in presenter mode at 1280x720 and a GIF of the race (assets/screenshots).
screenshots: $(VENV)/.dev chromium
	$(BIN)/python -m tools.screenshots

prefetch: $(VENV)/.runtime
	$(BIN)/python -m distilbert_demo prefetch

clean:
	rm -rf $(VENV) artifacts .pytest_cache .ruff_cache
