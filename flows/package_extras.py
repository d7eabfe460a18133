"""The archive package's extras, a part of the composition root (:mod:`flows.wiring`) that
imports no Prefect: ``samsa-decom archive`` needs only this list, and importing the flows
(Prefect and its settings) costs about a second of its start-up. :mod:`flows.wiring`
re-exports :data:`PACKAGE_EXTRAS`; add a new extra here."""

from __future__ import annotations

from tasks.archive.extras import PackageExtra
from tasks.extracts.person_index.build import PersonIndexExtra

PACKAGE_EXTRAS: tuple[PackageExtra, ...] = (PersonIndexExtra(),)
