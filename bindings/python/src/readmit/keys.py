"""CURVE key files as ``readmit keys`` writes them: a comment line, then the 40-character Z85 key."""
from __future__ import annotations

import os
import re
import stat
import warnings
from typing import Union

from .errors import DataFileError, ReadmitKeyWarning

# Z85's alphabet (ZeroMQ RFC 32): a CURVE key is 32 bytes, 40 characters of it.
_Z85_KEY = re.compile(r"[0-9a-zA-Z.\-:+=^!/*?&<>()\[\]{}@%$#]{40}")
# The daemon reads at most this much of a key file (ReadmitKeys' maxKeyFileBytes).
_MAX_BYTES = 64 << 10
# The opening comment of a secret key file `readmit keys` writes (CurveKeyPair.secretKeyComment).
_SECRET_COMMENT = "# readmit CURVE secret key"


def read_curve_key(path: Union[str, "os.PathLike[str]"]) -> str:
    """The Z85 key of a key file, as the daemon reads one: the first line that is neither empty
    nor a comment (``#``), stripped of spaces. ``readmit keys --name client`` writes
    ``client.pub`` and ``client.key``; pass them, with the daemon's ``server.pub``, to
    :class:`readmit.Client`::

        readmit.Client(endpoint, server_public_key=readmit.read_curve_key("server.pub"),
                       client_public_key=readmit.read_curve_key("client.pub"),
                       client_secret_key=readmit.read_curve_key("client.key"))

    A secret key file (marked so by ``readmit keys``) that other users can read gives a
    :class:`readmit.ReadmitKeyWarning`, as readmitd refuses such a file for its own key.

    Raises:
        DataFileError: naming ``path`` when the file cannot be read, holds no key, or its key is
            not 40 Z85 characters.
    """
    name = os.fspath(path)
    try:
        with open(name, "rb") as f:
            data = f.read(_MAX_BYTES + 1)
    except OSError as e:
        raise DataFileError(f"{name}: cannot read the key file: {e.strerror or e}", path=name, kind="unreadable") from e
    if len(data) > _MAX_BYTES:
        raise DataFileError(f"{name}: a key file holds one 40-character key, not {len(data)}+ bytes", path=name,
                            kind="bad_key")
    text = data.decode("utf-8", errors="replace")
    if any(line.startswith(_SECRET_COMMENT) for line in text.splitlines()):
        _warn_if_readable_by_others(name)
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip(" \t")
        if not line or line.startswith("#"):
            continue
        if not _Z85_KEY.fullmatch(line):
            raise DataFileError(f"{name}:{number}: not a 40-character Z85 CURVE key", path=name, line=number, kind="bad_key")
        return line
    raise DataFileError(f"{name}: holds no key (only comments or blank lines)", path=name, kind="bad_key")


def _warn_if_readable_by_others(name: str) -> None:
    try:
        mode = os.stat(name).st_mode
    except OSError:
        return
    if mode & stat.S_IROTH:
        warnings.warn(f"{name}: this secret key file can be read by other users (mode {oct(stat.S_IMODE(mode)).replace('0o', '0')}); "
                      f"any of them could pose as its owner: make it private (chmod 600 {name})", ReadmitKeyWarning, stacklevel=3)
