"""Notices: tell people what is coming, due, late or waiting for them, each notice once.

- :mod:`tasks.notify.decide`: which notices are due today (pure: views, policy, snapshot);
- :mod:`tasks.notify.words`: what each notice says, in Swedish and English;
- :mod:`tasks.notify.channels`: where notices go (apprise services, by recipient tag);
- :mod:`tasks.notify.outbox`: getting each one out exactly once (the ledger's outbox);
- :mod:`tasks.notify.run`: one day's run from settings (the CLI and the flow call it).
"""
