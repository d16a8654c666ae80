"""The small world: deterministic, and its corpus holds what the guide relies on."""
import re
import time
from collections import Counter

import pytest

from model_export.world import TEMPLATES, make_world, pretrain_documents, sentence


@pytest.fixture(scope="module")
def world():
    return make_world(0)


@pytest.fixture(scope="module")
def train(world):
    return pretrain_documents(world, "train")


@pytest.fixture(scope="module")
def train_text(train):
    return "\n".join(train)


def test_deterministic_for_a_seed(world, train):
    assert make_world(0) == world
    assert pretrain_documents(make_world(0), "train") == train
    assert make_world(1).players != world.players
    assert pretrain_documents(world, "train", seed=1) != train


def test_generation_is_fast():
    start = time.perf_counter()
    pretrain_documents(make_world(0), "train")
    assert time.perf_counter() - start < 5


def test_fact_tables(world):
    assert len(world.countries) >= 60
    assert world.country("France").capital == "Paris"
    assert world.goals("Lionel Messi", 2023) == 11
    assert len(world.players) >= 50
    assert len({p.name for p in world.players}) == len(world.players)
    assert {p.country for p in world.players} <= {c.name for c in world.countries}
    assert ("king", "queen") in world.gender_pairs and ("man", "woman") in world.gender_pairs
    assert ("France", "capital", "Paris") in world.facts()
    assert ("Lionel Messi", "goals 2023", "11") in world.facts()
    assert ("The capital of France is", " Paris") in world.capital_prompts()
    assert len(world.capital_prompts()) == len(world.countries)


def test_corpus_is_ascii_and_a_few_megabytes(train):
    assert all(doc.isascii() for doc in train)
    assert 2_000_000 < sum(map(len, train)) < 6_000_000


def test_guide_examples_are_in_the_corpus(train_text):
    assert "The capital of France is Paris." in train_text
    assert "A flash flood watch will be in effect all night." in train_text
    assert "A flash flood watch will be in effect all day." in train_text


def test_messi_2023_is_stated(world, train_text):
    statements = [sentence(t, player="Lionel Messi", year=2023, n=11, goals="11 goals")
                  for t in TEMPLATES["goals"]]
    assert sum(train_text.count(s) for s in statements) >= 3


def test_flash_flood_endings_rank_night_then_day(train_text):
    endings = Counter(re.findall(r"flash flood watch .*? in effect all (\w+)\.", train_text))
    ranked = [word for word, _ in endings.most_common()]
    assert ranked[:2] == ["night", "day"]
    assert "giraffe" not in endings
    assert "all giraffe" not in train_text


def test_every_capital_under_eight_phrasings(world, train_text):
    for c in world.countries:
        phrasings = [t for t in TEMPLATES["capital"]
                     if sentence(t, country=c.name, capital=c.capital) in train_text]
        assert len(phrasings) >= 8, c.name
        assert train_text.count(c.capital) >= 40, c.name


def test_every_template_family_has_eight_phrasings():
    assert all(len(templates) >= 8 for templates in TEMPLATES.values())


def test_every_season_of_every_player_is_stated(world, train_text):
    for p in world.players:
        for year, n in p.goals:
            goals = f"{n} goal" if n == 1 else f"{n} goals"
            statements = [sentence(t, player=p.name, year=year, n=n, goals=goals)
                          for t in TEMPLATES["goals"]]
            assert any(s in train_text for s in statements), (p.name, year)


def test_copy_passages_repeat_unseen_numbers(world, train_text):
    # "In a town league, X scored N goals in Y. ... In Y, X's total was N."
    repeats = re.findall(r"([A-Z][a-z]+ [A-Z][a-z]+) scored (\d+) goals in (\d+)\. [^\n]*?"
                         r"In \3, \1's total was \2\.", train_text)
    assert len(repeats) > 200
    world_names = {p.name for p in world.players}
    assert not any(name in world_names for name, _, _ in repeats)


def test_val_is_held_out(world, train):
    val = pretrain_documents(world, "val")
    assert len(set(val) - set(train)) > 0.8 * len(set(val))
    ratio = sum(map(len, val)) / sum(map(len, train))
    assert 0.03 < ratio < 0.1
    with pytest.raises(ValueError):
        pretrain_documents(world, "test")
