"""The pattern families added for unseen phrasing (synonyms, Dutch separable verbs and prefixes, other
registers): each fires on a Dutch and an English sentence that the older lexicon missed, and a veto keeps
it silent on a hard negative in both languages."""

from __future__ import annotations

import pytest

from dealtalk.nlp.rules import RuleSet, load_rules
from dealtalk.nlp.text import sentences

FAMILIES = {
    # label: (nl positive, en positive, nl hard negative, en hard negative)
    "competitor_mention": (
        "Er zit nog een ander schoonmaakbedrijf in de race.",
        "Two other contractors are pricing the same scope.",
        "Zij gaat bij een ander bedrijf werken, verder verandert er niks.",
        "We're not talking to anyone else about this.",
    ),
    "price_objection": (
        "Die offerte is best pittig voor een klein pand.",
        "That rate is well above what the market pays.",
        "Wij vinden het een nette prijs voor deze kwaliteit.",
        "The quote came in lower than we feared.",
    ),
    "discount_request": (
        "Zit er nog wat rek in het tarief?",
        "Can you hold the rates for another year?",
        "We vragen geen korting, het gaat om de service.",
        "There's plenty of room in the basement for your carts.",
    ),
    "budget_constraint": (
        "Onze middelen voor facilitair zijn voor dit jaar uitgeput.",
        "Our budget was slashed in the spring review.",
        "Er is voldoende budget gereserveerd voor de schoonmaak.",
        "Good news: finance approved the budget for all sites.",
    ),
    "timeline_slip": (
        "De start schuift op naar het najaar.",
        "The board deferred the decision to next quarter.",
        "Alles ligt op koers voor een start in mei.",
        "We're on course to sign earlier than planned.",
    ),
    "decision_maker_absent": (
        "Daar ga ik niet over, dat bepaalt het bestuur.",
        "I'm not the budget holder here, unfortunately.",
        "Ik beslis hier zelf over, dus dat zit goed.",
        "I have full signing authority for this.",
    ),
    "stakeholder_change": (
        "Onze inkoper is sinds vorige week uit dienst.",
        "Our facilities director is retiring in June.",
        "Ik blijf gewoon uw contactpersoon, ook volgend jaar.",
        "Don't worry, I'm not going anywhere.",
    ),
    "contract_termination_threat": (
        "De directie twijfelt of we na de zomer nog doorgaan.",
        "We're ready to walk away if this continues.",
        "We zijn niet van plan het contract op te zeggen.",
        "We'd like to extend for another three years.",
    ),
    "procurement_tender": (
        "Het perceel schoonmaak gaat volgend jaar opnieuw de markt op.",
        "The contract will be re-procured in the autumn.",
        "Dit blijft onder de drempel, dus we gunnen direct.",
        "It's below the threshold, so there's no need for a procurement process.",
    ),
    "legal_or_compliance_concern": (
        "Onze juristen willen de algemene voorwaarden nog doornemen.",
        "How do you protect the personal data on the access badges?",
        "Juridisch is alles akkoord, we kunnen verder.",
        "Our lawyers have no concerns with the wording.",
    ),
    "low_engagement": (
        "Weet ik veel, laten we het een andere keer doen.",
        "Honestly it's not on my radar right now.",
        "Goed idee, laten we meteen een vervolgafspraak plannen.",
        "Great, I've read the proposal and have a few questions.",
    ),
    "scope_reduction": (
        "De tweede verdieping hoeft niet meer gedaan te worden.",
        "We're giving up two floors when the lease ends.",
        "In plaats van dinsdag kunnen jullie ook woensdag komen.",
        "Could the team start at six instead of seven?",
    ),
}


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules(["Hago", "ISS", "Asito"])


def labels(rules: RuleSet, text: str) -> set[str]:
    return {hit.label for hit in rules.match(text, sentences(text)).risks}


@pytest.mark.parametrize("label", sorted(FAMILIES))
def test_new_family_fires_in_both_languages(rules: RuleSet, label: str) -> None:
    nl, en, _, _ = FAMILIES[label]
    assert label in labels(rules, nl)
    assert label in labels(rules, en)


@pytest.mark.parametrize("label", sorted(FAMILIES))
def test_new_family_hard_negatives_stay_silent(rules: RuleSet, label: str) -> None:
    _, _, nl, en = FAMILIES[label]
    assert label not in labels(rules, nl)
    assert label not in labels(rules, en)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ik bespreek het intern en bel u donderdag terug.", True),
        ("Kunt u de nieuwe planning voor het eind van de maand sturen?", True),
        ("Die rapportage sturen we iedere maand rond.", False),
        ("We zijn niet van plan iets te veranderen.", False),
        ("We always send the report as standard.", False),
    ],
)
def test_new_action_patterns_and_vetoes(rules: RuleSet, text: str, expected: bool) -> None:
    assert bool(rules.match(text, sentences(text)).actions) is expected
