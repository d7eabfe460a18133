"""Files samsa-decom writes are its own user's only: mode 0600, folders 0700.

Almost everything samsa-decom writes can hold personal data or secrets: the ledger (identity
numbers of person requests), the SAMSA database copy, the archive package and its person
index, every organisation's bag, a person's extract, Prefect's database. One mechanism keeps
them private: :func:`keep_new_files_private` sets the process umask to 077 once, in every
entry point (the CLI, each flow that writes such files), so every file and folder created
afterwards, by this process or a child process, is private whatever the caller's umask.
Where files are copied into a place they were not created in (a bag delivered to a drop),
:func:`make_private` sets the modes explicitly. :func:`open_to_others` lets ``doctor`` warn
about what was written before, or by hand.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

#: New files 0600, new folders 0700.
PRIVATE_UMASK = 0o077


def keep_new_files_private() -> None:
    """From now on this process (and what it starts) creates files 0600 and folders 0700."""
    os.umask(PRIVATE_UMASK)


def make_private(root: Path) -> None:
    """Make ``root`` and everything under it private (folders 0700, files 0600)."""
    for folder, _dirs, files in os.walk(root):
        os.chmod(folder, 0o700)
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                os.chmod(path, 0o600)


def open_to_others(path: Path) -> bool:
    """True when group or others may read, write or enter ``path``."""
    return bool(stat.S_IMODE(path.stat().st_mode) & 0o077)
