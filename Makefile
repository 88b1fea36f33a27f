# Two commands for a newcomer: `make run` and `make test`. Both create .venv when needed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test pdf-deps bench bench-settle bench-http bench-scale bench-flood bench-supervision bench-failover check lock clean

# constraints.txt pins every transitive version (regenerate with `make lock` after changing pyproject.toml).
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c 'import sys; assert sys.version_info[:2] == (3, 11), "gongji needs Python 3.11"'
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

# Serves the demo on http://127.0.0.1:8000 from ./gongji.db (or $$GONGJI_DB), loading it first
# when the database is empty.
run: $(STAMP) pdf-deps
	$(BIN)/gongji policy check
	$(BIN)/gongji demo
	$(BIN)/gongji serve

# The browser tests drive Debian's Chromium (browsers cannot be downloaded here).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	@echo "installing Debian's chromium for the browser tests"
	@if [ "$$(id -u)" = 0 ]; then apt-get install -y -q chromium fonts-noto-cjk; \
	 else sudo apt-get install -y -q chromium fonts-noto-cjk; fi

# Installs Debian packages, as root or through sudo (the package lists are refreshed first).
APT_INSTALL = if [ "$$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y -q $(1); \
	 else sudo apt-get update -q && sudo apt-get install -y -q $(1); fi

# The 结算单 PDF (WeasyPrint) needs pango and the Noto CJK fonts, which it embeds.
NOTO_CJK := /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
pdf-deps:
	@if ! ldconfig -p | grep -q 'libpangoft2-1.0.so.0' || [ ! -e $(NOTO_CJK) ]; then \
	 echo "installing pango and fonts-noto-cjk for the 结算单 PDF"; \
	 $(call APT_INSTALL,libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk); fi

# The statement tests read the PDFs with poppler's pdftotext and pdffonts.
PDFTOTEXT := /usr/bin/pdftotext
$(PDFTOTEXT):
	@echo "installing poppler-utils for the statement tests"
	@$(call APT_INSTALL,poppler-utils)

# The cluster tests (gongji cluster, bench.failover) run Patroni and etcd from Debian.
PATRONI := /usr/bin/patroni
$(PATRONI):
	@echo "installing Debian's patroni and etcd-server for the cluster tests"
	@$(call APT_INSTALL,patroni etcd-server)

test: $(STAMP) $(CHROMIUM) $(PDFTOTEXT) $(PATRONI) pdf-deps
	$(BIN)/gongji policy check
	$(BIN)/pytest

# Lint (pyflakes, bugbear, isort, pyupgrade) and types of the pure core and the service layer.
check: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

lock: $(STAMP)
	$(BIN)/pip freeze --exclude-editable | grep -v '^gongji' > constraints.txt

bench: $(STAMP)
	$(BIN)/python -m bench.calc

# One command per benchmark from a clean clone; DB=postgresql://... to run on PostgreSQL
# (bench-scale takes the server URL, without a database name; or ARGS="--own-cluster": a
# PostgreSQL cluster of its own with the `gongji db tune` settings). ARGS passes more options.
bench-settle: $(STAMP)
	$(BIN)/python -m bench.settle $(if $(DB),--db $(DB)) $(ARGS)

bench-http: $(STAMP)
	$(BIN)/python -m bench.http $(if $(DB),--db $(DB)) $(ARGS)

bench-scale: $(STAMP)
	$(BIN)/python -m bench.scale $(if $(DB),--db $(DB)) $(ARGS)

# Settlement latency under a login flood (ARGS="--seconds 10" for a shorter run).
bench-flood: $(STAMP)
	$(BIN)/python -m bench.flood $(if $(DB),--db $(DB)) $(ARGS)

# Fund supervision: precision, recall and time of each rule (ARGS="--settlements 1000000 --cases 5";
# DB takes the server URL, without a database name).
bench-supervision: $(STAMP)
	$(BIN)/python -m bench.supervision $(if $(DB),--db $(DB)) $(or $(ARGS),--settlements 100000)

# Leader of province 53 SIGKILLed N times under signed settlements in 53 and 65 (ARGS="--kills 5").
bench-failover: $(STAMP) $(PATRONI)
	$(BIN)/python -m bench.failover $(or $(ARGS),--kills 3 --readme)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
