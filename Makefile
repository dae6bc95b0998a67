# Two commands matter: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := chromium gammu-smsd gammu faketime iproute2 postgresql

.PHONY: run test install lock audit system-deps lint screenshots locales-extract locales-update locales-review locales-compile clean bench soak

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

# Every runtime and dev/test dependency, pinned with sha256 hashes for Python 3.11 on Linux x86_64
# (docs/security.md, "Dependencies"). pip installs nothing that is not in it, then Simpul itself.
LOCK := requirements-lock.txt

$(VENV)/.installed: pyproject.toml $(LOCK) | $(BIN)/activate
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	touch $@

install: $(VENV)/.installed

# Re-resolve the lock after a change to the dependencies in pyproject.toml (needs the package
# registry). Known pins are kept; `make lock UPGRADE=1` moves every pin to the newest release.
lock: | $(BIN)/activate
	$(BIN)/python -m pip install --quiet 'uv>=0.5,<1'
	$(BIN)/uv pip compile --quiet pyproject.toml --extra dev --generate-hashes \
	  --python-version 3.11 --python-platform x86_64-unknown-linux-gnu \
	  --custom-compile-command 'make lock' $(if $(UPGRADE),--upgrade) -o $(LOCK)

# pip-audit against the lock: fails on a locked release with a known advisory, only warns when
# the advisory service cannot be reached (tools/audit_lock.py).
audit: install
	$(BIN)/python tools/audit_lock.py --lock $(LOCK)

run: install
	$(BIN)/simpul init-db
	$(BIN)/simpul serve

# Debian packages the tests drive for real (Chromium, gammu-smsd, faketime).
system-deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

test: install system-deps
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/pytest -q -n 2
	$(BIN)/python tools/audit_lock.py --lock $(LOCK)

# Browser tests write screenshots to a temp dir; this refreshes the ones in docs/screenshots/.
screenshots: install system-deps
	SIMPUL_SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(BIN)/pytest -q -m browser -p no:cacheprovider

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# One Babel domain per locales/<domain>.cfg (see locales/README.md).
DOMAINS = $(basename $(notdir $(wildcard locales/*.cfg)))
# Keep in step with gateway.i18n.LOCALES (tests/test_locales.py checks).
LOCALES = id en jv su

locales-extract: install
	for d in $(DOMAINS); do \
	  $(BIN)/pybabel extract -F locales/$$d.cfg -k N_ -k Message --no-location --sort-output \
	    --project=simpul -o locales/$$d.pot . || exit 1; done

locales-update: locales-extract
	for d in $(DOMAINS); do for l in $(LOCALES); do \
	  if [ -f locales/$$l/LC_MESSAGES/$$d.po ]; then \
	    $(BIN)/pybabel update -D $$d -l $$l -i locales/$$d.pot -d locales --no-fuzzy-matching --ignore-obsolete; \
	  else $(BIN)/pybabel init -D $$d -l $$l -i locales/$$d.pot -d locales; fi; done; done

# Every jv/su message no native speaker has checked yet (locales/README.md).
locales-review: install
	$(BIN)/python locales/review.py

locales-compile: install
	for d in $(DOMAINS); do $(BIN)/pybabel compile -D $$d -d locales --statistics || exit 1; done

bench: install
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/sealing.py
	$(BIN)/python bench/channels.py
	$(BIN)/python bench/ussd.py
	$(BIN)/python bench/web_pages.py
	$(BIN)/python bench/sync.py

clean:
	rm -rf build dist *.egg-info

# The reliability campaign (docs/reliability.md); takes about 35 minutes; the disk-full part mounts a tmpfs (root).
soak: install
	$(BIN)/python bench/soak_crash.py --cycles 1000 --seed 6001 --full-check-every 100
	$(BIN)/python bench/soak_linkcut.py --count 1000 --seed 6002
	$(BIN)/python bench/soak_disk_full.py --cycles 200 --seed 6003
