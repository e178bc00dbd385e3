"""Calibration: fit a scenario's hops to a drill or real-event log (`alertsim calibrate`).

``logs`` reads records.csv.gz or the minimal attempts CSV; ``fit`` does maximum likelihood with
right censoring (scipy, the ``calibrate`` extra); ``hops`` says which durations inform which
scenario path; ``output`` writes the fit report and the calibrated scenario.
"""

__all__ = ["fit", "hops", "logs", "output"]
