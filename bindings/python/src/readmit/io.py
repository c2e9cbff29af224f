"""Reading a CSV of raw records with every value kept as written."""
from __future__ import annotations

import os
from typing import Any, Union

import pandas as pd


def read_csv(path: Union[str, "os.PathLike[str]"], **kwargs: Any) -> pd.DataFrame:
    """Reads a CSV (gzip allowed) with every column as text, exactly as written.

    This is ``pandas.read_csv(path, dtype=str, keep_default_na=False, na_values=[])`` (keyword
    arguments override those): no text becomes missing here, so a level written ``None`` or
    ``NA`` stays a level and numbers keep their written form. Which texts mean "missing" is the
    business of the model's dataset spec, applied by the daemon (for Diabetes 130, ``?`` and
    empty fields are missing there). The result goes to :meth:`Client.score_records` (or
    ``score``, ``score_frame``, ``explain``) as it is.
    """
    options = {"dtype": str, "keep_default_na": False, "na_values": []}
    options.update(kwargs)
    return pd.read_csv(path, **options)
