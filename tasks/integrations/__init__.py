"""Integration shutdown: adapters per step kind (http, sql, command) and the shutdown engine."""
