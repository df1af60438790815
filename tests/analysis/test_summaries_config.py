"""The YAML configuration of per-exposure summaries: parsing and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from openefd.analysis.summaries_config import (
    DEFAULT_CONFIG,
    AsOf,
    PolyRms,
    Stddev,
    load_config,
    parse_config,
)
from openefd.errors import ConfigurationError

GOOD = """\
version: 1
topics:
  - topic: lsst.sal.ESS.airFlow
    sal_index: 301
    padding_s: 2.5
    columns:
      - {name: a, field: speed, function: mean}
      - {name: b, field: speed, function: {name: stddev, ddof: 1}}
      - {name: c, field: speed, function: {name: rms_from_polynomial_fit, degree: 3, basis: index}}
      - {name: d, field: speed, function: delta}
"""


def test_parses_functions_and_padding() -> None:
    cfg = parse_config(GOOD)
    topic = cfg.topics[0]
    assert topic.pre_ns == topic.post_ns == 2_500_000_000
    assert topic.sal_indices == [301]
    fns = [c.function for c in topic.columns]
    assert fns[0].name == "mean"
    assert isinstance(fns[1], Stddev) and fns[1].ddof == 1
    assert isinstance(fns[2], PolyRms) and (fns[2].degree, fns[2].basis) == (3, "index")
    assert isinstance(fns[3], AsOf) and fns[3].lookback_s == 60.0


def test_default_config_is_valid() -> None:
    cfg = load_config()
    names = [c.name for _, c in cfg.all_columns()]
    assert "wind_speed_mean" in names and "dimm_fwhm" in names and "m1m3_z_force_mean" in names
    assert load_config(DEFAULT_CONFIG) == cfg


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace("function: mean", "function: average"),
         r"mine.yaml: line 7, topics\[0\]\.columns\[0\]\.function"),
        (GOOD.replace("ddof: 1", "ddof: -1"),
         r"line 8, topics\[0\]\.columns\[1\]\.function\.ddof"),
        (GOOD.replace("basis: index", "basis: frame"), r"line 9, .*function\.basis"),
        (GOOD.replace("padding_s: 2.5", "paddin_s: 2.5"),
         r"line 5, topics\[0\]\.paddin_s.*[Ee]xtra"),
        (GOOD.replace("{name: d,", "{name: a,"), r"'a' is defined twice"),
        (GOOD.replace("field: speed, function: delta", "function: delta"),
         r"line 10, topics\[0\]\.columns\[3\]\.field: Field required"),
        ("version: 1\ntopics: []\n", r"line 2, topics"),
        ("topics: [\n", r"not valid YAML"),
        ("- a\n", r"expected a mapping"),
    ],
)  # fmt: skip
def test_bad_config_names_line_and_key(text: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        parse_config(text, "mine.yaml")


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read summaries configuration"):
        load_config(tmp_path / "absent.yaml")
