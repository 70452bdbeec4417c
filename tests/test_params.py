"""The URL's values have one parser per kind (gvae.app.params) and one seed limit."""

import re

import numpy as np
import pytest
from conftest import ROOT

from gvae import config
from gvae.app import params


def test_one_seed_limit_the_training_seed_s():
    assert params.MAX_SEED == config.MAX_SEED
    assert params.parse_seed(str(config.MAX_SEED)) == config.MAX_SEED
    with pytest.raises(ValueError, match="between 0 and"):
        params.parse_seed(str(config.MAX_SEED + 1))


def test_probabilities_take_commas_or_semicolons_and_are_normalized():
    assert np.allclose(params.parse_probs("1, 1;2"), [0.25, 0.25, 0.5])
    for bad in ("1", "1,nan", "-1,2", "0,0", "a,b", ",".join("1" * 11)):
        with pytest.raises(ValueError):
            params.parse_probs(bad)


def test_numbers_choices_and_flags():
    assert params.parse_float_in(0.1, 3.0, digits=1)("1.26") == 1.3
    with pytest.raises(ValueError):
        params.parse_float_in(0.0, 1.0)("nan")
    assert params.parse_choice([100, 1_000])("1000") == 1_000
    assert params.parse_flag("On") is True and params.parse_flag("0") is False
    with pytest.raises(ValueError):
        params.parse_flag("maybe")


def test_no_page_writes_its_own_parser_or_seed_limit():
    for page in sorted((ROOT / "pages").glob("*.py")):
        source = page.read_text()
        assert not re.search(r"^def parse_", source, re.M), page.name
        assert not re.search(r"MAX_SEED\s*=|2\s*\*\*\s*(31|32|53)", source), page.name
