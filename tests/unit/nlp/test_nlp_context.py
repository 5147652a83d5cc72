"""Issue 13's context pieces, each with a positive and a hard negative in Dutch and English (made-up lines in the
style of the training set): supplier names in a buying context, engagement over the call, a question and its
answer, a thought across two turns, a former supplier that stays former, polite short answers."""

from __future__ import annotations

import pytest

from dealtalk.nlp.baseline import LexiconBaseline
from dealtalk.nlp.context import QuestionAnswers, load_question_answers, refine_call
from dealtalk.nlp.detect import Detector, Finding
from dealtalk.nlp.engagement import customer_engagement, evasive_turns
from dealtalk.nlp.evaluation import RulesOnly
from dealtalk.nlp.rules import RuleSet, load_rules
from dealtalk.nlp.text import sentences


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules(("Hago", "ISS"))


@pytest.fixture(scope="module")
def detector(rules: RuleSet) -> Detector:
    return RulesOnly(rules, LexiconBaseline())


@pytest.fixture(scope="module")
def qa() -> QuestionAnswers:
    return load_question_answers()


def _labels(rules: RuleSet, text: str) -> set[str]:
    return {hit.label for hit in rules.match(text, sentences(text)).risks}


def _call(detector: Detector, qa: QuestionAnswers, turns: list[tuple[str, str]]) -> list[Finding]:
    texts = [text for _, text in turns]
    roles = [role for role, _ in turns]
    speakers = ["S1" if role == "seller" else "S2" for role in roles]
    findings = detector.detect(texts, roles)
    return refine_call(findings, texts, roles, speakers, detector, qa)


def _risks(finding: Finding) -> set[str]:
    return {r.label for r in finding.risks}


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Zonnig Facilitair kwam vorige week langs en stuurt ons een offerte.", "Zonnig Facilitair"),
        ("Kristalhelder zit op een lager uurtarief dan jullie.", "Kristalhelder"),
        ("SparkWorks walked the site and will send a quote on Friday.", "SparkWorks"),
        ("We got a proposal from Brightwell last week.", "Brightwell"),
    ],
)
def test_an_unlisted_supplier_in_a_buying_context_is_a_competitor(
    rules: RuleSet, text: str, name: str
) -> None:
    hits = [h for h in rules.match(text, sentences(text)).risks if h.label == "competitor_mention"]
    assert hits and name in text[hits[0].start_char : hits[0].end_char]


@pytest.mark.parametrize(
    "text",
    [
        "De offerte voor Utrecht sturen we vrijdag.",  # a place
        "Maandag bespreken we de prijs met de directie.",  # a day
        "Ons vorige schoonmaakbedrijf was Kristalhelder, die waren goedkoper.",  # a former supplier
        "We used to work with SparkWorks, their prices were lower.",  # a former supplier
        "Our CFO has not seen the proposal yet.",  # a title
        "Kristalhelder is een mooi woord voor schone ramen.",  # no buying context
    ],
)
def test_places_days_titles_and_former_suppliers_are_no_competitors(rules: RuleSet, text: str) -> None:
    assert "competitor_mention" not in _labels(rules, text)


def test_attendees_are_never_taken_for_suppliers(rules: RuleSet) -> None:
    text = "Offerte van Brouwer komt morgen."
    assert "competitor_mention" in _labels(rules, text)
    assert not rules.match(text, sentences(text), persons=("Jan Brouwer",)).risks


@pytest.mark.parametrize(
    "text", ["Klinkt goed.", "Dat is helder.", "Sure, speak soon.", "Sounds good, thanks!"]
)
def test_polite_short_answers_veto_low_engagement(rules: RuleSet, text: str) -> None:
    assert "low_engagement" in rules.match(text, sentences(text)).vetoed


@pytest.mark.parametrize("text", ["Mwah, we zien wel.", "Dunno. We'll see later."])
def test_minimal_disinterest_still_counts(rules: RuleSet, text: str) -> None:
    assert "low_engagement" in _labels(rules, text)


ENGAGED_NL = [
    ("seller", "Hoe bevalt de huidige schoonmaak op de tweede verdieping?"),
    ("customer", "Eigenlijk goed, alleen de sanitaire ruimtes worden soms vergeten op vrijdag."),
    ("seller", "Zullen we dat in het nieuwe plan meenemen?"),
    ("customer", "Ja graag, en de vergaderzalen willen we ook vaker laten doen."),
    ("seller", "Wanneer zou u willen starten?"),
    ("customer", "Liefst per februari, dan loopt het oude contract af en hebben we geen gat."),
    ("seller", "Prima, ik stuur u vrijdag het voorstel."),
    ("customer", "Klinkt goed."),
]
DISENGAGED_EN = [
    ("seller", "How is the current cleaning working out for your team on the second floor?"),
    ("customer", "Fine."),
    ("seller", "Would you like us to include the meeting rooms in the new plan as well?"),
    ("customer", "Maybe."),
    ("seller", "When would you ideally like to start with the new contract?"),
    ("customer", "Not sure."),
    ("seller", "Shall I send you a proposal by Friday so you can have a look?"),
    ("customer", "Whatever."),
]


def test_engagement_comes_from_the_call_not_one_turn() -> None:
    engaged = customer_engagement(
        [t for _, t in ENGAGED_NL], [r for r, _ in ENGAGED_NL], [False] * len(ENGAGED_NL)
    )
    assert not engaged.disengaged and engaged.answers == 3
    disengaged = customer_engagement(
        [t for _, t in DISENGAGED_EN], [r for r, _ in DISENGAGED_EN], [False] * len(DISENGAGED_EN)
    )
    assert disengaged.disengaged and disengaged.median_answer_words <= 2
    assert evasive_turns([t for _, t in DISENGAGED_EN], [r for r, _ in DISENGAGED_EN]) == [1, 3, 5, 7]


# No question marks (as ASR writes it), the customer says little in every turn, the seller carries the call.
QUIET_NL = [
    ("seller", "goedemiddag ik wilde even bijpraten over het onderhoud van het groen rond jullie kantoor"),
    ("customer", "ja"),
    (
        "seller",
        "we zagen dat de hagen dit jaar twee keer extra gesnoeid moesten worden en dat wilden we bespreken",
    ),
    ("customer", "oké prima"),
    ("seller", "voor volgend jaar stellen we een vast schema voor met vier rondes en een winterbeurt erbij"),
    ("customer", "weet ik niet hoor"),
    ("seller", "we kunnen ook eerst langskomen om het samen te bekijken met uw facilitair manager"),
    ("customer", "stuur het maar"),
]


def test_a_quiet_customer_side_is_disengaged_without_question_marks() -> None:
    texts, roles = [t for _, t in QUIET_NL], [r for r, _ in QUIET_NL]
    verdict = customer_engagement(texts, roles, [False] * len(texts))
    assert verdict.disengaged and verdict.questions == 0 and verdict.median_customer_words <= 3
    assert evasive_turns(texts, roles) == [1, 3, 5, 7]


def test_disengaged_call_marks_evasive_turns_and_engaged_call_none(
    detector: Detector, qa: QuestionAnswers
) -> None:
    engaged = _call(detector, qa, ENGAGED_NL)
    assert not any("low_engagement" in _risks(f) for f in engaged)
    disengaged = _call(detector, qa, DISENGAGED_EN)
    assert all("low_engagement" in _risks(disengaged[i]) for i in (1, 3, 5, 7))


@pytest.mark.parametrize(
    ("question", "answer", "label"),
    [
        ("Is de directeur er volgende week bij?", "Nee, die zit in het buitenland.", "decision_maker_absent"),
        (
            "Will the person who signs join the next meeting?",
            "No, she's away this week.",
            "decision_maker_absent",
        ),
        ("Is het budget al goedgekeurd?", "Nee, nog niet.", "budget_constraint"),
        ("Are you talking to other suppliers as well?", "Yes, two of them.", "competitor_mention"),
        (
            "Houden we alle locaties in het contract?",
            "Nee, Zwolle gaat volgend jaar dicht.",
            "scope_reduction",
        ),
        ("Are we still on track for a March start?", "Not really.", "timeline_slip"),
    ],
)
def test_a_short_answer_carries_the_risk_of_its_question(
    detector: Detector, qa: QuestionAnswers, question: str, answer: str, label: str
) -> None:
    found = _call(detector, qa, [("seller", question), ("customer", answer)])
    assert label in _risks(found[1]) and not found[0].risks


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("Is de directeur er volgende week bij?", "Ja, zij komt ook."),
        ("Is the budget approved?", "Yes, last week."),
        ("Is het budget een probleem?", "Nee hoor."),
        ("Are you talking to other suppliers as well?", "No, only you."),
    ],
)
def test_an_answer_that_clears_the_question_raises_nothing(
    detector: Detector, qa: QuestionAnswers, question: str, answer: str
) -> None:
    assert not _call(detector, qa, [("seller", question), ("customer", answer)])[1].risks


def test_a_customer_question_answered_by_the_seller_raises_nothing(
    detector: Detector, qa: QuestionAnswers
) -> None:
    found = _call(detector, qa, [("customer", "Is het budget al goedgekeurd?"), ("seller", "Nee, nog niet.")])
    assert not found[1].risks


@pytest.mark.parametrize(
    ("first", "second", "label"),
    [
        ("Nou ik vind het eerlijk gezegd te", "duur voor wat we krijgen", "price_objection"),
        ("To be honest it is too", "expensive for what we get", "price_objection"),
    ],
)
def test_a_thought_cut_over_two_turns_of_one_speaker(
    detector: Detector, qa: QuestionAnswers, first: str, second: str, label: str
) -> None:
    assert label not in _labels(detector.rules, first) | _labels(detector.rules, second)
    found = _call(detector, qa, [("customer", first), ("customer", second)])
    assert label in _risks(found[1])
    apart = _call(detector, qa, [("customer", first), ("seller", second)])
    assert not apart[1].risks


def test_a_former_supplier_stays_former_later_in_the_call(detector: Detector, qa: QuestionAnswers) -> None:
    turns = [
        ("customer", "Vroeger deed Hago onze schoonmaak."),
        ("seller", "En hoe beviel dat?"),
        ("customer", "Hago was goedkoper, die offerte lag lager."),
    ]
    assert "competitor_mention" not in _risks(_call(detector, qa, turns)[2])
    current = [("customer", "Hago was goedkoper, die offerte lag lager.")]
    assert "competitor_mention" in _risks(_call(detector, qa, current)[0])


@pytest.mark.parametrize(
    ("text", "lang", "filler"),
    [
        ("Het budget is bevroren, helaas!", "nl", {"eh", "ehm", "nou"}),
        ("Sure, send it over.", "en", {"uh", "um", "like"}),
    ],
)
def test_asr_style_copies_drop_case_and_punctuation_and_add_a_filler(
    text: str, lang: str, filler: set[str]
) -> None:
    from dealtalk.nlp.augment import asr_style

    copy = asr_style(text, lang, seed=3)
    assert copy == asr_style(text, lang, seed=3)
    assert copy == copy.lower() and not set(copy) & set(".,!?")
    assert set(copy.split()) & filler
    assert set(text.lower().replace(",", "").replace("!", "").replace(".", "").split()) <= set(copy.split())


def test_a_brief_customer_who_commits_to_next_steps_stays_engaged() -> None:
    texts, roles = [t for _, t in QUIET_NL], [r for r, _ in QUIET_NL]
    # "oké prima" to the plan and agreeing to a visit commit to next steps.
    commits = [index in (3, 5) for index in range(len(texts))]
    verdict = customer_engagement(texts, roles, [False] * len(texts), commitments=commits)
    assert verdict.customer_commitments == 2 and not verdict.disengaged
    quiet = customer_engagement(texts, roles, [False] * len(texts), commitments=[False] * len(texts))
    assert quiet.disengaged and quiet.customer_commitments == 0


@pytest.mark.parametrize(
    "turns",
    [
        [
            ("customer", "Kristalhelder zit op een lager uurtarief dan jullie."),
            ("seller", "Hoeveel lager?"),
            ("customer", "Eerlijk is eerlijk, ze zitten vier euro per uur onder uw tarief."),
        ],
        [
            ("customer", "We got a proposal from Brightwell last week."),
            ("seller", "What stood out?"),
            ("customer", "They're cheaper, mobile badges are in the base price."),
        ],
    ],
)
def test_a_rival_named_earlier_is_they_later(
    detector: Detector, qa: QuestionAnswers, turns: list[tuple[str, str]]
) -> None:
    found = _call(detector, qa, turns)
    assert "competitor_mention" in _risks(found[2])
    assert any(r.source == "context" for r in found[2].risks)


@pytest.mark.parametrize(
    "turns",
    [
        # No rival was named: "they" is the board.
        [
            ("seller", "Hoe kijkt de directie ernaar?"),
            ("customer", "Ze vinden de prijs per uur aan de hoge kant."),
        ],
        # A former supplier is no rival, so "they" after it is none either.
        [
            ("customer", "Vroeger deed Hago onze schoonmaak."),
            ("seller", "En hoe beviel dat?"),
            ("customer", "Ze waren goedkoper, maar de kwaliteit was slecht."),
        ],
        # Too many turns later "they" is somebody else.
        [
            ("customer", "We got a proposal from Brightwell last week."),
            *[("seller", "Noted."), ("customer", "Fine.")] * 4,
            ("customer", "They want the price per hour in the summary."),
        ],
    ],
)
def test_they_without_a_current_rival_before_is_no_competitor(
    detector: Detector, qa: QuestionAnswers, turns: list[tuple[str, str]]
) -> None:
    assert "competitor_mention" not in _risks(_call(detector, qa, turns)[-1])
