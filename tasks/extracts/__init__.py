"""Register extracts: per-organisation bags (BagIt) and one person's extract (registerutdrag).

Plain typed functions (tested without Prefect); the flows in ``flows/extracts.py`` wrap them.
"""
