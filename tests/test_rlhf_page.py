"""The RLHF page: it leads with what RL changed, its sentences hold whatever the
numbers turn out to be, and the probe and AUC details stay behind the scenes."""

import re
from pathlib import Path

from bs4 import BeautifulSoup

from sitebuild.cellrun import (decline_wording_words, invention_verdict, placement_words, real_change_words,
                               request_words, separation_words, trade_words)
from test_reader_text import main_text, widget_selectors

PAGE = Path("training/rlhf/index.html")


def test_invention_verdict_covers_every_outcome():
    assert invention_verdict(6, 13, 35) == "fewer inventions, but far from none"
    assert invention_verdict(6, 33, 35) == "fewer inventions, but not none"
    assert invention_verdict(6, 35, 35) == "RLHF removed every invention here"
    assert invention_verdict(35, 35, 35) == "neither model invented anything here"
    assert invention_verdict(6, 6, 35) == "no fewer than before"
    assert invention_verdict(6, 2, 35) == "more than before"


def test_real_change_words_says_plainly_when_nothing_changed():
    assert real_change_words(0, 0, 0, 40, 40, 45) == "the two models gave the same answer to all 45 questions"
    assert real_change_words(5, 0, 3, 41, 39, 45) == ("RLHF changed 5 of the 45 answers: right answers went from "
                                                      "41 to 39, and \"I don't know\" went from 0 to 3")
    assert real_change_words(2, 1, 1, 40, 40, 45).endswith("right answers stayed at 40")


def test_request_words_cover_every_outcome():
    assert request_words(12, 30, 33) == ("the tuned model declined 12 of the 33 requests and did as asked, or "
                                         "something else, with the other 21; the RLHF model declined 30")
    assert request_words(12, 33, 33).endswith("declined 33, every one of them")
    assert request_words(12, 10, 33).endswith("declined 10, fewer than before")
    assert request_words(12, 12, 33) == "both models declined 12 of the 33 requests: RLHF changed nothing here"


def test_decline_wording_words_follow_the_figures():
    dw = {"requests": 30, "demonstrations_decline": 1.2, "complied": -5.25,
          "other_declines": [{"answer": "I'd rather not do that.", "reward": -8.0, "beats_complied": 0.1}]}
    words = decline_wording_words(dw)
    assert words.startswith("Over the 30 ranked requests about held-out things, the demonstrations' decline "
                            "scored +1.20 on average and doing as asked \u22125.25, while \"I'd rather not do "
                            "that.\" scored \u22128.00, above doing as asked for only 10% of the requests."), words
    assert "learned those words rather than the idea of declining" in words
    dw["other_declines"][0].update(reward=-1.0, beats_complied=0.9)
    words = decline_wording_words(dw)
    assert "for 90% of the requests" in words and "something of what a decline is" in words
    dw["other_declines"][0].update(reward=-11.0, beats_complied=0.0)
    assert "\u221211.00, below doing as asked for every one of the requests." in decline_wording_words(dw)
    assert decline_wording_words({"requests": 0}).startswith("The rankings held no requests")


def test_trade_words_follow_the_figures():
    assert trade_words(0.79, 0.58, 0.01, 0.10).startswith("RLHF moved the model towards honesty")
    assert "more often" in trade_words(0.79, 0.58, 0.01, 0.10)
    assert trade_words(0.79, 0.0, 0.01, 0.01) == ("RLHF removed the inventions about things that do not exist, "
                                                  "without saying \"I don't know\" more often about real things.")
    assert trade_words(0.79, 0.79, 0.01, 0.01).startswith("RLHF did not make the model more honest")


def test_separation_and_placement_words():
    assert separation_words(0.75) == "only partly"
    assert separation_words(0.9) == "well, but far from perfectly"
    assert separation_words(None).startswith("only partly")
    ranked = [{"answer": "I don't know a country called Norway.", "rubric": 0.4},
              {"answer": "The capital of Norway is Oslo.", "rubric": 1.0}]
    assert placement_words(ranked) == "second, behind an \"I don't know\""
    assert placement_words(ranked[::-1]) == "first"


def test_the_page_leads_with_the_side_by_side_answers(built_site):
    soup = BeautifulSoup((Path(built_site) / PAGE).read_text(encoding="utf-8"), "html.parser")
    article = soup.select_one("article")
    snippets = [cell["data-snippet"] for cell in article.select(".pycell[data-snippet]")]
    assert snippets[:2] == ["training/rlhf_side_by_side.py", "training/rlhf_effect.py"], snippets
    first_heading = article.select_one("h2")
    assert first_heading.get_text(strip=True).startswith("What changed")
    output = article.select(".pycell-output")[0].get_text()
    # The three groups are there in order, each with its count of changed answers and of declines or "I don't know".
    groups = re.findall(r"^(.+): \d+ asked, \d+ changed by RLHF$", output, re.M)
    assert groups == ["requests to decline", "things that do not exist", "real things left out of tuning"], output
    assert output.count("declined: SFT") == 1
    assert output.count("\"I don't know\": SFT") == 2 and output.count("; right: SFT") == 1
    # The evaluation table breaks requests down by kind.
    table = article.select(".pycell-output")[1].get_text()
    assert "requests not declined" in table and "a home address" in table, table
    # The reward, KL and rubric curves are drawn, one chart each.
    titles = [t.get_text() for t in article.select(".chart-row svg > title")]
    assert titles == ["Reward-model score", "KL from SFT (nats)", "Rubric, change from start"], titles


def test_probe_and_auc_stay_behind_the_scenes(built_site):
    html = (Path(built_site) / PAGE).read_text(encoding="utf-8")
    text = main_text(html, widget_selectors())
    assert not re.search(r"\bAUC\b|\bprobe\b", text), "the probe and AUC belong in the collapsed note"
    assert "RLOO" in text and "PPO" in text and "DPO" in text  # the method is named, with its alternatives
    notes = BeautifulSoup(html, "html.parser").select("article details")
    assert any("AUC" in note.get_text() for note in notes)
