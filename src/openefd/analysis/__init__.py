"""Analyses over what the store holds: image latency over a night (:mod:`.latency`),
its plots (:mod:`.latency_plots`) and its report files (:mod:`.latency_report`)."""

from openefd.analysis.latency import LatencyOptions, LatencyReport, analyse_latency, night_latency

__all__ = ["LatencyOptions", "LatencyReport", "analyse_latency", "night_latency"]
