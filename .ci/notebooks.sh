#!/usr/bin/env bash
# Executes every notebook in notebooks/ against fresh offsim results; any
# error in any cell fails the script. From a fresh clone:
#   bash .ci/notebooks.sh
# Environment: PYTHON (default python3), NOTEBOOK_VENV (default
# target/notebooks-venv), NOTEBOOK_RESULTS (default target/notebook-results).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${NOTEBOOK_VENV:-target/notebooks-venv}
OUT=${NOTEBOOK_RESULTS:-target/notebook-results}

echo "== notebooks: virtual environment in $VENV"
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r notebooks/requirements.txt

echo "== notebooks: result data in $OUT"
offsim() { cargo run --quiet --release --features tables -- "$@"; }
# The validation below builds a worker image; remove it (and anything a
# failed live run left) however the script ends.
trap 'offsim live --cleanup >/dev/null 2>&1 || true' EXIT
mkdir -p "$OUT"
offsim run scenarios/quickstart.toml --out "$OUT/quickstart"
offsim sweep scenarios/policy-comparison.toml --out "$OUT/policy-comparison-sweep" --no-progress
offsim calibrate scenarios/live-validation.toml --out "$OUT/calibration.toml"
offsim validate scenarios/live-validation.toml --repetitions 2 --set workload.duration_s=8 \
    --calibration "$OUT/calibration.toml" --out "$OUT/live-validation/validate" --no-plots

echo "== notebooks: executing"
OFFSIM_RESULTS="$(cd "$OUT" && pwd)" "$VENV/bin/python" - "$OUT/executed" <<'PY'
import sys
from pathlib import Path
import nbformat
from nbclient import NotebookClient

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
notebooks = sorted(Path("notebooks").glob("*.ipynb"))
if not notebooks:
    sys.exit("no notebooks found in notebooks/")
failed = []
for path in notebooks:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": "notebooks"}})
    try:
        client.execute()
        # An exception while displaying a figure is recorded as an error
        # output without stopping the notebook: count it as a failure too.
        errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
        if errors:
            raise RuntimeError("; ".join(f"{o.ename}: {o.evalue}" for o in errors))
        print(f"ok      {path}")
    except Exception as e:  # CellExecutionError, display errors, kernel death, timeout
        failed.append(path)
        print(f"FAILED  {path}\n{e}", file=sys.stderr)
    nbformat.write(nb, out / path.name)
print(f"executed notebooks in {out}/")
sys.exit(1 if failed else 0)
PY
