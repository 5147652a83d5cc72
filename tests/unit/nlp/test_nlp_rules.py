"""Risk and action-item rules: every label fires on a Dutch and an English positive and stays silent on a
hard negative in both languages (a past competitor, a tender already won, praise of the price...), for the
original lexicon and for the pattern families added for unseen phrasing."""

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

# Pattern families added for unseen phrasing (synonyms, Dutch separable verbs and prefixes, other registers):
# sentences the older lexicon missed, with a hard negative each that a veto keeps silent.
FAMILIES = {
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

# Both tables, each label once per table: (label, (nl positive, en positive, nl hard negative, en hard negative)).
ALL_CASES = [(label, CASES[label]) for label in sorted(CASES)] + [
    (label, FAMILIES[label]) for label in sorted(FAMILIES)
]


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules(["Hago", "ISS", "Asito"])


def labels(rules: RuleSet, text: str) -> set[str]:
    return {hit.label for hit in rules.match(text, sentences(text)).risks}


@pytest.mark.parametrize(("label", "case"), ALL_CASES)
def test_each_label_fires_in_both_languages(rules: RuleSet, label: str, case: tuple[str, ...]) -> None:
    nl, en, _, _ = case
    assert label in labels(rules, nl)
    assert label in labels(rules, en)


@pytest.mark.parametrize(("label", "case"), ALL_CASES)
def test_hard_negatives_stay_silent(rules: RuleSet, label: str, case: tuple[str, ...]) -> None:
    _, _, nl, en = case
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
        ("Ik bespreek het intern en bel u donderdag terug.", True),
        ("Kunt u de nieuwe planning voor het eind van de maand sturen?", True),
        ("Die rapportage sturen we iedere maand rond.", False),
        ("We zijn niet van plan iets te veranderen.", False),
        ("We always send the report as standard.", False),
    ],
)
def test_action_item_rules(rules: RuleSet, text: str, expected: bool) -> None:
    assert bool(rules.match(text, sentences(text)).actions) is expected


def test_compile_pattern_syntax() -> None:
    assert compile_pattern("te duur|hoog") == [{"LOWER": "te"}, {"LOWER": {"IN": ["duur", "hoog"]}}]
    assert compile_pattern("aanbest* ~2 x")[1] == {"OP": "{0,2}"}
    assert compile_pattern("aanbest*")[0]["LOWER"]["REGEX"].startswith("^(?:aanbest")
    assert compile_pattern("in-house") == [{"LOWER": "in"}, {"ORTH": "-"}, {"LOWER": "house"}]
