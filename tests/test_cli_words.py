"""The CLI's message catalogue (deploy/cli/words.py): Swedish by default, English by the
setting, and a hook other command modules (the extract listings) add their words through."""

from __future__ import annotations

import pytest

from deploy.cli import words
from models.errors import InputError
from models.settings import get_settings


def test_the_setting_chooses_the_language_and_lang_overrides_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert words.language() == "sv"
    monkeypatch.setenv("SAMSA_DECOM_LANGUAGE", "en")
    get_settings.cache_clear()
    assert words.language() == "en"
    assert words.language("sv") == "sv"
    with pytest.raises(InputError, match="--lang: 'fr' is not supported; use sv or en"):
        words.language("fr")


def test_a_module_adds_its_words_and_cannot_change_anothers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(words, "_WORDS", dict(words._WORDS))  # leave the catalogue as it was
    words.add({"bags_made": {"sv": "{n} uttag klara", "en": "{n} bags made"}})
    assert words.say("bags_made", "sv", n=3) == "3 uttag klara"
    assert words.say("bags_made", "en", n=3) == "3 bags made"
    words.add({"bags_made": {"sv": "{n} uttag klara", "en": "{n} bags made"}})  # same: fine
    with pytest.raises(ValueError, match="'n_milestones' is already in the catalogue"):
        words.add({"n_milestones": {"sv": "något annat", "en": "something else"}})
    assert words.say("n_milestones", "sv", n=2, d="2026-03-01") == "2 milstolpar per 2026-03-01"


def test_a_missing_translation_falls_back_to_words(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(words, "_WORDS", dict(words._WORDS))
    words.add({"only_swedish": {"sv": "bara svenska"}})
    assert words.say("only_swedish", "en") == "bara svenska"
    with pytest.raises(KeyError):
        words.say("no_such_word", "sv")
