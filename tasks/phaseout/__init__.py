"""The phase-out's use cases, shared by the flows and the CLI (plain functions, no Prefect).

- :mod:`tasks.phaseout.day`: one day's state (plan + rollout + ledger → dates, gates, states);
- :mod:`tasks.phaseout.decide`: a person decides on a waiting milestone.
"""
