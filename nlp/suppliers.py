"""Supplier names nobody configured: organisation-like names said in a buying context.

A competitor list is never complete ("Glansrijk zat vorige week al op een lager uurtarief", "BrightOps walked
the site and will send a quote"). A name counts when its sentence speaks of buying (quote, price, proposal,
walkthrough, offer...) and the name looks like an organisation:

* written like a brand (``BrightOps``, ``CleanCo``, ``ISS``) or with a company word after it (``Glans Facility``,
  ``Hygiene Services``, ``Jansen BV``); or
* a capitalised word that is not a common Dutch or English word, said as a supplier is said: after
  ``van / bij / met / from / with / by / via`` ("een offerte van Glansrijk"), or as the subject of a supplier's
  verb ("Glansrijk zat op", "Brightwell quoted").

People on the call (the attendee list) are no suppliers; the former-supplier vetoes of ``competitor_mention``
("vroeger", "used to", "ons vorige schoonmaakbedrijf") still apply to these hits, as to listed names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["BUYING_CONTEXT", "SupplierNames"]

BUYING_CONTEXT = re.compile(
    r"\b(?:offerte\w*|quote[sd]?|quoting|prij(?:s|zen)|pric\w*|\w*tarie\w*|rates?|voorstel\w*|proposals?|"
    r"aanbod|aanbieding\w*|offer(?:s|ed|ing)?|bid(?:s|ding)?|walk-?through|walked|rondgang|rondleiding|schouw|"
    r"pitch\w*|inschrijving|goedkoper|cheaper|lager|lower|korting|discount|demo|presentati\w*|"
    r"presentation)\b",
    re.IGNORECASE,
)


def _set(words: str) -> frozenset[str]:
    """A set of space-separated words (long word lists read better as text)."""
    return frozenset(words.split())


_TOKEN = re.compile(r"[^\W\d_][\w&'-]*")
_BRAND = re.compile(r"^(?:[A-Z][a-z]+[A-Z]\w*|[A-Z]{2,6})$")  # CamelCase or a short acronym
_COMPANY_WORDS = _set(
    "bv b.v. nv group groep facility facilities facilitair services service schoonmaak schoonmaakdiensten "
    "cleaning cleaners solutions diensten totaalonderhoud ltd inc company"
)
_BEFORE = _set("van bij met from with by via door naar tegen versus vs")
# A capitalised word after these is a place or a date ("de offerte voor Utrecht"), unless written as a brand.
_PLACE_BEFORE = _set("in voor naar te uit op for at to into near")
_VERBS = _set(
    "zat zit zitten heeft hebben had kwam komt komen biedt bieden bood doet deed gaf geeft stuurt stuurde "
    "rekent rekende vraagt vroeg liep loopt wil wilde kan kon gaat ging is was staat stond "
    "walked walks sent sends will would has had came comes quoted quotes offered offers charges charged "
    "gave gives is was are were can could did does asked bid pitched"
)
# Capitalised words that are no organisations: pronouns and fillers at the start of a turn, days, months,
# languages, titles. The spaCy stop-word lists add the rest of the function words.
_NOT_NAMES = _set(
    "ik jij je u we wij jullie zij ze hij het de een dat die dit deze en maar ja nee nou oké ok goed prima "
    "i you we they he she it the a an and but yes no so well okay sure hi hello "
    "maandag dinsdag woensdag donderdag vrijdag zaterdag zondag monday tuesday wednesday thursday friday "
    "saturday sunday januari februari maart april mei juni juli augustus september oktober november december "
    "january february march may june july august october "
    "nederlands engels dutch english flemish vlaams euro euros meneer mevrouw mister mr mrs ms dr "
    "amsterdam rotterdam utrecht eindhoven groningen tilburg almere breda nijmegen arnhem haarlem enschede "
    "apeldoorn amersfoort zwolle leiden maastricht dordrecht delft haag antwerpen gent brussel leuven brugge "
    "mechelen hasselt london manchester "
    "cfo coo ceo cto cio cpo hr fm it ict "
    "teams outlook excel linkedin google covid cao avg gdpr iso nen vca rfp rfq btw vat kpi sla"
)


class SupplierNames:
    """Finds organisation-like names said in a buying context.

    Args:
        common_words: lower-case words of the languages (a capitalised common word is no name).
    """

    def __init__(self, common_words: Iterable[str] = ()) -> None:
        from spacy.lang.en.stop_words import STOP_WORDS as EN
        from spacy.lang.nl.stop_words import STOP_WORDS as NL

        self._common = frozenset({*NL, *EN, *_NOT_NAMES, *(w.lower() for w in common_words)})

    def find(
        self, sentence: str, *, persons: Iterable[str] = (), require_context: bool = True
    ) -> list[tuple[int, int]]:
        """Character spans of supplier names in one sentence (empty without a buying context, unless
        ``require_context`` is False: then every organisation-like or uncommon capitalised name counts)."""
        if require_context and not BUYING_CONTEXT.search(sentence):
            return []
        person_words = {part.lower() for name in persons for part in name.split()}
        tokens = list(_TOKEN.finditer(sentence))
        found: list[tuple[int, int]] = []
        index = 0
        while index < len(tokens):
            token = tokens[index].group()
            lower = token.lower()
            if not token[0].isupper() or lower in person_words or lower in _NOT_NAMES:
                index += 1
                continue
            end = index
            # A company word after the name joins it ("Glans Facility", "Jansen BV").
            while end + 1 < len(tokens) and tokens[end + 1].group().lower() in _COMPANY_WORDS:
                end += 1
            previous = tokens[index - 1].group().lower() if index else ""
            following = tokens[end + 1].group().lower() if end + 1 < len(tokens) else ""
            brand = bool(_BRAND.match(token)) or end > index
            uncommon = lower not in self._common and not BUYING_CONTEXT.fullmatch(token)
            said_as_supplier = previous in _BEFORE or (following in _VERBS and previous not in _PLACE_BEFORE)
            if brand or (uncommon and (said_as_supplier or not require_context)):
                found.append((tokens[index].start(), tokens[end].end()))
            index = end + 1
        return found
