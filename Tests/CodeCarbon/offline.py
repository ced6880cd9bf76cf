"""Runs the real codecarbon client offline and leaves its emissions.csv in OUTPUT_DIR, for the import tests.

Usage: python offline.py OUTPUT_DIR
Three trackers: one whose project_name needs CSV quoting, one that flushes halfway (two cumulative rows for one
run_id), and a plain one. Prints the file's path.
"""
import os
import sys
import time

from codecarbon import OfflineEmissionsTracker

output_dir = sys.argv[1]


def busy(seconds):
    end = time.time() + seconds
    value = 0
    while time.time() < end:
        value += sum(i * i for i in range(2000))
    return value


def tracker(name):
    return OfflineEmissionsTracker(country_iso_code="FRA", output_dir=output_dir, project_name=name, measure_power_secs=1,
                                   log_level="error", save_to_file=True, allow_multiple_runs=True)


first = tracker('offline, "quoted" =1+1')
first.start()
busy(1.5)
first.stop()

flushed = tracker("flushed")
flushed.start()
busy(1.5)
flushed.flush()
busy(1.5)
flushed.stop()

plain = tracker("plain")
plain.start()
busy(1.0)
plain.stop()

print(os.path.join(output_dir, "emissions.csv"))
