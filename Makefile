# The two README commands: `make demo` and `make test`. Both build .venv/ first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-deps lint typecheck pytest docs bench manifests image clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	$(BIN)/python -m tools.check_binaries
	touch $(STAMP)

demo: install
	$(BIN)/python -m tools.demo

test: install lint typecheck test-deps pytest

test-deps:
	@tools/install_test_deps.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy schemas services examples tools tests

pytest: install
	$(BIN)/pytest

docs: install
	$(BIN)/python -m schemas.generate
	$(BIN)/python -m tools.commands_doc

bench: install
	$(BIN)/python -m tools.bench

# deploy/k8s from the services' declarations (a new package under services/ needs nothing else).
manifests: install
	$(BIN)/python -m tools.manifests

# The image, built here without a registry or a Docker engine (buildah on a Debian base): tools/image.py.
image: install
	$(BIN)/python -m tools.image

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
