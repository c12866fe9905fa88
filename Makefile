# unet-course: two commands for a fresh Linux machine with Python 3.11.
#   make demo   -- build the virtual environment, then train and evaluate on synthetic tiles
#   make test   -- build the virtual environment, then run the whole test suite
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
EXTRAS ?= cpu,dev,docs
OUT ?= runs/demo
EXECUTED ?= executed

.PHONY: demo test unit course browser-deps grading-deps assignments course-full bench clean site

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[$(EXTRAS)]"
	@# the Validate button's summary (unet_course.grading.validate) in this environment's JupyterLab
	@mkdir -p $(VENV)/etc/jupyter/jupyter_server_config.d
	echo '{"ServerApp": {"jpserver_extensions": {"unet_course.grading.validate": true}}}' \
	  > $(VENV)/etc/jupyter/jupyter_server_config.d/unet_course.json
	@touch $@

demo: $(STAMP)
	$(VENV)/bin/unet-course demo --out $(OUT)

# KEEP_EXECUTED=1: the lessons nbval executes are also written, outputs and all, to $(EXECUTED)/ (CI's artefact).
KEEP_EXECUTED ?=
test: $(STAMP) browser-deps grading-deps
	$(PY) -m pytest tests
	UNET_COURSE_PROFILE=smoke $(if $(KEEP_EXECUTED),PYTHONPATH=.ci )$(PY) -m pytest --nbval-lax course$(if \
	  $(KEEP_EXECUTED), -p executed_notebooks --keep-executed $(EXECUTED))

# $(call debian,COMMAND,PACKAGE,WHAT NEEDS IT): install Debian's PACKAGE when COMMAND is missing,
# with apt-get as root, or through `sudo -n` (never a password prompt) for a user who may;
# otherwise say what will not work without it.
debian = if ! command -v $(1) >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then as_root=; elif sudo -n true 2>/dev/null; then as_root="sudo -n"; \
	  else as_root=none; fi; \
	  if [ "$$as_root" != none ] && command -v apt-get >/dev/null; then \
	    ($$as_root apt-get update -qq && $$as_root env DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq $(2) >/dev/null) \
	      || echo "could not install Debian's $(2): $(3) will fail saying so"; \
	  else \
	    echo "$(1) is missing: install Debian's '$(2)' package (as root, or with sudo) for $(3)"; \
	  fi; \
	fi

# Debian's Chromium drives the JupyterLab browser test (Playwright, no browser download).
browser-deps:
	@$(call debian,chromium,chromium,the browser test)

# Debian's bubblewrap sandboxes the students' kernels of `unet-course autograde` (no daemon, no root at run time).
grading-deps:
	@$(call debian,bwrap,bubblewrap,the sandboxed autograde tests)

# Regenerate the nbgrader release (assignments/) from the source (solutions/).
assignments: $(STAMP)
	$(PY) -m unet_course.grading.release

# Every lesson (or those in LESSONS) at the seed's full scale (the GPU workflow, .ci/gpu); executed
# notebooks land in $(EXECUTED)/.
LESSONS ?= $(sort $(wildcard course/[0-9]*.ipynb))
course-full: $(STAMP)
	@mkdir -p $(EXECUTED)
	for nb in $(LESSONS); do \
	  UNET_COURSE_PROFILE=full $(VENV)/bin/jupyter nbconvert --to notebook --execute \
	    --ExecutePreprocessor.timeout=-1 --output-dir $(EXECUTED) "$$nb" || exit 1; \
	done

# The course's site in $(SITE)/: every lesson executed in the smoke profile (cached in _build/, so an
# unchanged lesson is not run again), the guides, the API reference; then checked in headless Chromium.
SITE ?= _site
site: $(STAMP) browser-deps
	UNET_COURSE_PROFILE=smoke $(VENV)/bin/sphinx-build -q -b html -c docs -d _build/doctrees . $(SITE)
	UNET_COURSE_SITE=$(SITE) $(PY) -m pytest -q tests/test_site.py

bench: $(STAMP)
	$(PY) benchmarks/bench_synthetic.py
	$(PY) benchmarks/bench_training.py
	$(PY) benchmarks/bench_inference.py
	$(PY) benchmarks/bench_inference_scenes.py
	$(PY) benchmarks/bench_autograde.py

clean:
	rm -rf $(VENV) runs $(EXECUTED) test-output _site _build docs/api jupyter_execute
