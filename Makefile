# `make demo` and `make test` do all the set-up themselves on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_DB := out/demo.db
FUPIN := $(BIN)/fupin --db sqlite:///$(DEMO_DB) --user demo
SAMPLE := data/sample

.PHONY: install sysdeps demo test bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

# System packages (CJK fonts for PDFs, poppler for reading them back); skipped where present.
sysdeps:
	@if ! fc-list :lang=zh 2>/dev/null | grep -q . || ! command -v pdffonts >/dev/null; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-zenhei fonts-noto-cjk poppler-utils >/dev/null; \
		else echo "install a CJK font and poppler-utils: sudo apt-get install fonts-wqy-zenhei fonts-noto-cjk poppler-utils"; fi; \
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
	$(FUPIN) procure compliance --month 2025-03
	$(FUPIN) procure compliance --month 2025-08 --institution HNU-S
	$(FUPIN) procure compliance --month 2025-03 --format csv -o out/compliance-2025-03.csv
	$(FUPIN) plan teachers --data data/planning --out out/plan/teachers-base
	$(FUPIN) plan teachers --data data/planning --scenario data/planning/scenario_floor.yaml --solver cbc --out out/plan/teachers-floor
	$(FUPIN) plan compare out/plan/teachers-base out/plan/teachers-floor --changed-only
	$(FUPIN) plan graduates --data data/planning --scenario data/planning/scenario_baseline.yaml --out out/plan/graduates-base

test: install sysdeps
	$(BIN)/pytest -q

bench: install
	$(BIN)/python benchmarks/bench_ledger.py

clean:
	rm -rf out .pytest_cache .hypothesis
