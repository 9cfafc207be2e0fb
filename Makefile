# `make demo` and `make test` do all the set-up themselves on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_DB := out/demo.db
FUPIN := $(BIN)/fupin --db sqlite:///$(DEMO_DB) --user demo
SAMPLE := data/sample

.PHONY: install sysdeps demo test bench clean web

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

# System packages: a CJK font for the PDFs, HarfBuzz's subsetter (fast font subsetting in
# WeasyPrint), poppler (reading PDFs back in the tests), Debian's Chromium and its driver (the web
# application's browser tests). Installed only where missing.
SYSPKGS := fonts-wqy-zenhei libharfbuzz-subset0 poppler-utils chromium chromium-driver
sysdeps:
	@if command -v dpkg >/dev/null && ! dpkg -s $(SYSPKGS) >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSPKGS) >/dev/null; \
		else echo "missing system packages; run: sudo apt-get install $(SYSPKGS)"; fi; \
	fi

demo: install sysdeps
	rm -f $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm
	mkdir -p out
	for kind in institutions canteens suppliers categories packaging; do \
		$(FUPIN) procure import-master --kind $$kind $(SAMPLE)/$$kind.csv || exit 1; \
	done
	$(FUPIN) procure import $(SAMPLE)/purchases_2025_synthetic.csv
	$(FUPIN) procure import $(SAMPLE)/purchases_2025_synthetic.csv
	$(FUPIN) procure close --month 2025-03
	$(FUPIN) procure verify
	$(FUPIN) procure compliance --month 2025-03
	$(FUPIN) procure compliance --month 2025-08 --institution HNU-S
	$(FUPIN) procure compliance --month 2025-03 --format csv -o out/compliance-2025-03.csv
	$(FUPIN) report compliance --month 2025-03 --institution HNU-S -o out/HNU-S-2025-03.pdf
	$(FUPIN) report compliance --month 2025-03 --institution HNU-S --lang en -o out/HNU-S-2025-03-en.pdf
	$(FUPIN) report compliance --period 2025-01..2025-03 -o out/province-2025Q1.pdf
	$(FUPIN) report compliance --month 2025-03 --format xlsx -o out/province-2025-03.xlsx
	mkdir -p out/reports-2025-03 && $(FUPIN) report compliance --month 2025-03 --every-institution -o out/reports-2025-03
	$(FUPIN) plan teachers --data data/planning --out out/plan/teachers-base
	$(FUPIN) plan teachers --data data/planning --scenario data/planning/scenario_floor.yaml --solver cbc --out out/plan/teachers-floor
	$(FUPIN) plan compare out/plan/teachers-base out/plan/teachers-floor --changed-only
	$(FUPIN) plan graduates --data data/planning --scenario data/planning/scenario_baseline.yaml --out out/plan/graduates-base
	$(FUPIN) plan kindergartens --data data/kindergartens --time-limit 10 --out out/plan/kindergartens
	@echo "The web application on this demo database: make web (prints demo accounts), then http://127.0.0.1:8000/"

test: install sysdeps
	$(BIN)/pytest -q

bench: install
	$(BIN)/python benchmarks/bench_ledger.py
	$(BIN)/python benchmarks/bench_reports.py
	$(BIN)/python benchmarks/bench_web.py
	$(BIN)/python benchmarks/bench_kindergartens.py --counties 8 --jobs 2 --time-limit 10
	$(BIN)/python benchmarks/bench_location.py --time-limit 60
	$(BIN)/python benchmarks/bench_plans.py

# Demo accounts get fresh random passwords each time; they are printed, for trying the web out.
DEMO_USERS := wang:manager:--canteen=C01 li:manager:--institution=HNU-S caiwu:finance:--institution=HNU-S \
	sheng:finance: guihua:planner: admin:admin:
web: install
	@test -f $(DEMO_DB) || $(MAKE) demo
	@$(FUPIN) db upgrade >/dev/null
	@echo "demo accounts (for trying fupin web out; passwords are new each time):"
	@for spec in $(DEMO_USERS); do \
		name=$${spec%%:*}; rest=$${spec#*:}; role=$${rest%%:*}; scope=$${rest#*:}; \
		pw=$$($(BIN)/python -c 'import secrets; print(secrets.token_hex(8))'); \
		if ! echo "$$pw" | $(FUPIN) user add $$name --role $$role $${scope:+$$(echo $$scope | tr = ' ')} --password-stdin >/dev/null 2>&1; then \
			echo "$$pw" | $(FUPIN) user password $$name --password-stdin >/dev/null || exit 1; fi; \
		printf "  %-8s %-8s %-24s password %s\n" $$name $$role "$$(echo $$scope | tr = ' ')" "$$pw"; \
	done
	@echo "a planning worker runs beside the server (it stops with it)"
	@$(FUPIN) worker --instance out/web & worker=$$!; \
		trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
		$(FUPIN) web --port 8000 --instance out/web

clean:
	rm -rf out .pytest_cache .hypothesis
