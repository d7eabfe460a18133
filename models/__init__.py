"""What the domain *is*: plan, rollout, settings (pydantic) and the ledger (SQLAlchemy 2).

Nothing here imports Prefect or does I/O at import time.
"""
