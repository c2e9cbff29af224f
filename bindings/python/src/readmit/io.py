"""Reading the raw CSV the way the daemon's schema expects it."""
from __future__ import annotations

import os
from typing import Any, Union

import pandas as pd


def read_csv(path: Union[str, "os.PathLike[str]"], **kwargs: Any) -> pd.DataFrame:
    """Reads a CSV in the training data's layout (gzip allowed) with every column as text.

    pandas' defaults would turn the level ``"None"`` (of ``max_glu_serum`` and ``A1Cresult``:
    "test not performed") into NaN and codes into floats; reading text keeps the values exactly
    as ``readmit score`` sees them. ``?`` and empty fields stay as they are; :meth:`Client.encode`
    treats them as missing.
    """
    options = {"dtype": str, "keep_default_na": False, "na_values": []}
    options.update(kwargs)
    return pd.read_csv(path, **options)
