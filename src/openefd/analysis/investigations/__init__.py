"""The example investigations of DMTN-082, one call each.

- :mod:`.wind` — wind speed and direction in a UTC window;
- :mod:`.seeing` — exposures with seeing above a threshold, and the dome
  temperature at their start and end;
- :mod:`.correlations` — every per-exposure summary column against every
  other, ranked;
- :mod:`.excursions` — the intervals where a condition on telemetry holds,
  and the exposures overlapping them.
"""
