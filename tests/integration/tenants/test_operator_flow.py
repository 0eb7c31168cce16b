"""What an operator's staff member does in a notebook, through the real gateway and SDK."""

from __future__ import annotations

import json

from tests.integration.tenants.conftest import run_cell

FLOW = r'''
import json, os
from tenants.sdk import Client, RefusedError
client = Client.from_environment()
report = {"tenant": client.tenant, "samples": [s.name for s in client.samples()]}
report["sample_columns"] = list(client.load_sample("people").columns)
try:
    client.query("select id_number from people")
except RefusedError as e:
    report["refused"] = e.reason
report["accepted"] = client.query("select district, count(*) as n from people group by 1 order by 1").to_dict("list")
os.makedirs("/workspace/job", exist_ok=True)
open("/workspace/job/main.py", "w").write(
    "import pandas as pd\n"
    "pd.read_parquet('/data/raw/people.parquet').groupby('district').income.mean()"
    ".reset_index().to_parquet('mean_income.parquet')\n"
    "open('model.skops', 'wb').write(b'weights')\n")
job = client.submit_job("/workspace/job", name="mean-income").wait(timeout=120)
report["job"] = job.state
report["outputs"] = {o.name: o.state for o in job.outputs}
report["fetched"] = job.fetch("mean_income.parquet").to_dict("list")
try:
    job.fetch("model.skops")
except RefusedError as e:
    report["model_refused"] = e.reason
report["export"] = client.request_export(job, "mean_income.parquet", scenario="district report").state
print(json.dumps(report))
'''


def test_first_hour_of_an_operator(kernel):
    out = run_cell(kernel, FLOW, timeout_s=180)
    assert out.ok, (out.error, out.stderr[-2000:])
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["tenant"] == "acme" and report["samples"] == ["people"]
    assert report["sample_columns"] == ["district", "income_band"]
    assert "direct identifier" in report["refused"]
    assert report["accepted"] == {"district": ["binjiang", "xihu"], "n": [2, 2]}
    assert report["job"] == "succeeded"
    assert report["outputs"] == {"mean_income.parquet": "released", "model.skops": "withheld"}
    assert report["fetched"] == {"district": ["binjiang", "xihu"], "income": [350.0, 150.0]}
    assert "never leave" in report["model_refused"]
    assert report["export"] == "pending"
