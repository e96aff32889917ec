"""Calibration: observed targets, their likelihood, and (later) the inference driver."""
