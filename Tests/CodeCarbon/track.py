"""Runs the real codecarbon client against Soot and reports every emission post it made.

Usage: python track.py ENDPOINT PROJECT_TOKEN EXPERIMENT_ID OUTPUT_DIR
Prints one JSON object: the run id the client got, each /emissions post (payload and status), and the totals of the
client's own emissions.csv.
"""
import csv
import json
import os
import sys
import time

import requests

endpoint, token, experiment_id, output_dir = sys.argv[1:5]
posts = []
runs = []
_post = requests.post


def recording_post(url=None, *args, **kwargs):
    """Wraps the client's HTTP call: the status it got for each payload is what Soot must have stored."""
    response = _post(url, *args, **kwargs)
    path = (url or "").rstrip("/")
    if path.endswith("/emissions"):
        posts.append({"status": response.status_code, "payload": kwargs.get("json")})
    elif path.endswith("/runs"):
        runs.append({"status": response.status_code, "id": response.json().get("id") if response.status_code == 201 else None})
    return response


requests.post = recording_post

from codecarbon import EmissionsTracker  # noqa: E402  (imported after the patch on purpose)


def busy(seconds):
    end = time.time() + seconds
    value = 0
    while time.time() < end:
        value += sum(i * i for i in range(2000))
    return value


tracker = EmissionsTracker(
    api_endpoint=endpoint,
    api_key=token,
    experiment_id=experiment_id,
    project_name="soot-client-test",
    save_to_api=True,
    save_to_file=True,
    output_dir=output_dir,
    measure_power_secs=1,
    api_call_interval=2,
    log_level="error",
    allow_multiple_runs=True,
    tracking_mode="machine",
)
tracker.start()
busy(5)
tracker.flush()
busy(4)
tracker.stop()

csv_energy = csv_emissions = None
path = os.path.join(output_dir, "emissions.csv")
if os.path.exists(path):
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    if rows:
        csv_energy = float(rows[-1]["energy_consumed"])
        csv_emissions = float(rows[-1]["emissions"])

print(json.dumps({"runs": runs, "posts": posts, "csv_energy": csv_energy, "csv_emissions": csv_emissions}))
