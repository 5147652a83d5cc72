"""Risk and action-item rules: every label fires on a Dutch and an English positive and stays silent on a
hard negative in both languages (a past competitor, a tender already won, praise of the price...)."""

from __future__ import annotations

import pytest

from dealtalk.nlp.rules import RuleSet, compile_pattern, load_rules
from dealtalk.nlp.text import sentences

CASES = {
    # label: (nl positive, en positive, nl hard negative, en hard negative)
    "competitor_mention": (
        "We hebben ook een offerte van Hago gekregen.",
        "We're also talking to ISS about the same scope.",
        "Vroeger deed Hago onze schoonmaak, dat is al jaren voorbij.",
        "We used to have ISS, but that contract ended long ago.",
    ),
    "price_objection": (
        "Uw prijs per vierkante meter is echt te hoog.",
        "Frankly, your rate is too expensive for us.",
        "Uw prijs is heel redelijk voor deze kwaliteit.",
        "The price is fair for what we get.",
    ),
    "discount_request": (
        "Kunnen jullie nog iets aan de prijs doen?",
        "Is there any discount if we sign for three years?",
        "Geen korting nodig, het gaat ons om kwaliteit.",
        "We're not asking for a discount, just reliability.",
    ),
    "budget_constraint": (
        "Ons budget is voor volgend jaar gekort.",
        "There's a spending freeze until March.",
        "Het budget is goedgekeurd, we kunnen door.",
        "The budget has been approved, so we're fine.",
    ),
    "timeline_slip": (
        "Het besluit wordt uitgesteld tot na de zomer.",
        "The board postponed the decision again.",
        "We liggen op schema, de start blijft staan.",
        "We're on track, nothing has moved.",
    ),
    "decision_maker_absent": (
        "Ik moet het eerst voorleggen aan de directie.",
        "I'll need to run this by my boss first.",
        "Ik ben degene die tekent, dus dat zit goed.",
        "I have full authority to sign this today.",
    ),
    "stakeholder_change": (
        "Mijn opvolger neemt het dossier per januari over.",
        "We have a new head of facilities starting next month.",
        "Ik blijf gewoon uw aanspreekpunt, er verandert niets.",
        "I'm staying in my role, nothing changes.",
    ),
    "contract_termination_threat": (
        "Als dit zo doorgaat, gaan we het contract opzeggen.",
        "We're seriously considering not renewing the contract.",
        "Opzeggen is niet aan de orde, we zijn tevreden.",
        "Terminating isn't something we're considering at all.",
    ),
    "procurement_tender": (
        "We moeten het contract opnieuw aanbesteden.",
        "Procurement wants to run a formal RFP next year.",
        "De aanbesteding hebben jullie vorig jaar gewonnen.",
        "You won the tender last spring, so we're set.",
    ),
    "legal_or_compliance_concern": (
        "Onze jurist heeft bezwaar tegen de aansprakelijkheid.",
        "Our legal team has concerns about the liability cap.",
        "De jurist heeft alles goedgekeurd, geen opmerkingen.",
        "Legal signed off on the agreement yesterday.",
    ),
    "low_engagement": (
        "Mwah, we zien wel. Stuur maar wat op.",
        "Just send something over, I'll look at some point.",
        "Graag, dat klinkt interessant, vertel me meer.",
        "That sounds great, tell me more.",
    ),
    "scope_reduction": (
        "We willen het aantal uren terugbrengen naar twintig.",
        "We want to reduce the cleaning hours from forty to thirty a week.",
        "We willen juist uitbreiden met een extra locatie.",
        "We'd like to add the new site to the scope.",
    ),
}


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules(["Hago", "ISS", "Asito"])


def labels(rules: RuleSet, text: str) -> set[str]:
    return {hit.label for hit in rules.match(text, sentences(text)).risks}


@pytest.mark.parametrize("label", sorted(CASES))
def test_each_label_fires_in_both_languages(rules: RuleSet, label: str) -> None:
    nl, en, _, _ = CASES[label]
    assert label in labels(rules, nl)
    assert label in labels(rules, en)


@pytest.mark.parametrize("label", sorted(CASES))
def test_hard_negatives_stay_silent(rules: RuleSet, label: str) -> None:
    _, _, nl, en = CASES[label]
    assert label not in labels(rules, nl)
    assert label not in labels(rules, en)


def test_quote_offsets_point_into_the_text(rules: RuleSet) -> None:
    text = "Goedemorgen. Eerlijk gezegd is het te duur. Verder prima."
    hits = rules.match(text, sentences(text)).risks
    assert [h.label for h in hits] == ["price_objection"]
    assert text[hits[0].start_char : hits[0].end_char] == hits[0].matched
    assert hits[0].sentence == 1


def test_curly_apostrophes_and_asr_noise(rules: RuleSet) -> None:
    assert "budget_constraint" in labels(rules, "We don’t have the budget for it right now.")
    assert "price_objection" in labels(rules, "de prijs per kantemater is eh te hoog")


def test_match_does_not_cross_sentences(rules: RuleSet) -> None:
    text = "Dat hoor ik graag. Dan plannen we een overleg."
    actions = rules.match(text, sentences(text)).actions
    assert [a.sentence for a in actions] == [1]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ik stuur u vrijdag de aangepaste offerte.", True),
        ("I'll send you the revised proposal by Friday.", True),
        ("Laten we volgende week een vervolgafspraak inplannen.", True),
        ("Vorige week heb ik u de offerte al gestuurd.", False),
        ("I already sent you the proposal last week.", False),
        ("Our team cleans the washrooms every day.", False),
    ],
)
def test_action_item_rules(rules: RuleSet, text: str, expected: bool) -> None:
    assert bool(rules.match(text, sentences(text)).actions) is expected


def test_compile_pattern_syntax() -> None:
    assert compile_pattern("te duur|hoog") == [{"LOWER": "te"}, {"LOWER": {"IN": ["duur", "hoog"]}}]
    assert compile_pattern("aanbest* ~2 x")[1] == {"OP": "{0,2}"}
    assert compile_pattern("aanbest*")[0]["LOWER"]["REGEX"].startswith("^(?:aanbest")
    assert compile_pattern("in-house") == [{"LOWER": "in"}, {"ORTH": "-"}, {"LOWER": "house"}]
