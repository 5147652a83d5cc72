"""The hand-written history the NLP evaluation report prints: which set was seen when, and what each round
changed. Every figure in the report itself is computed by ``bench/nlp_eval_report.py``.
"""

from __future__ import annotations

__all__ = ["NOTES", "SEEN"]

SEEN = {
    "dev": "regression set; heads-2 rules debugged on it; since then aggregate scores only",
    "dev, ASR-style copy": "dev re-written by nlp/augment.py (lower case, no punctuation, fillers): robustness",
    "holdout": "unsealed in nlp2; training data of heads-4 (issue 13)",
    "holdout2": "sealed in nlp2, 17 patterns later found written from it and holdout were removed; training "
    "data of heads-4 (issue 13): no longer sealed",
    "dev calls": "4 whole calls written in nlp3 (train style, the rules in view): whole-call regression only",
    "sealed3 utterances": "written blind for issue 13; scored once with the base commit, once with the final code",
    "sealed3 calls": "written blind for issue 13; scored once with the base commit, once with the final code",
    "sealed4 utterances": "written blind on 2026-12-07 after nlp3's code landed; scored once (commit 28fd6bd, "
    "nlp3's final code): unseen figures of the current code, and the base row of the next round",
    "sealed4 calls": "as sealed4 utterances",
    "sealed5 utterances": "written blind on 2026-12-07 (other trades, half ASR-style) while issue 17 landed; "
    "scored once (commit 82173bd: nlp3's code plus the CRM's competitor table in every call's analysis, which "
    "came after sealed4's scoring): the base row of the next round; its per-label aggregates were seen",
    "sealed5 calls": "as sealed5 utterances",
    "sealed6 utterances": "written blind on 2026-12-07 (facility services weighted, half ASR-style) before this "
    "round's changes were scored; scored once with the base NLP code (394b103) and once with the final "
    "(1f08dba: heads-5 with train_blind, engagement as a quiet customer side); aggregates only",
    "sealed6 calls": "as sealed6 utterances",
    "sealed7 utterances": "written blind on 2026-12-07 (half facility services, brief-but-engaged customers) before "
    "the second part of the round; scored once with the base code (394b103) and once with the final (87fa0cb: "
    "heads-6 with train_blind2, engagement with commitments, e5 batches of 512); aggregates only. Its writer's "
    "summary (talk share of its brief-but-engaged calls, 36 and 40 %) was read before the engagement thresholds "
    "were chosen on the training calls",
    "sealed7 calls": "as sealed7 utterances",
    "sealed8 utterances": "written blind on 2026-12-07 (pest control, grounds, parking, managed print, care homes, "
    "housing associations; over half ASR-style) and committed before this round's first change; scored once "
    "with the base code (dd75d8c) and once with the final (heads-7 with train_blind3, a rival named earlier is "
    "'they' later); aggregates only",
    "sealed8 calls": "as sealed8 utterances",
    "sealed9 utterances": "written blind on 2026-12-07 (data-centre, cleanroom and retail night cleaning, patrols, "
    "EV charging, payroll; long neutral stretches in the calls) after sealed8's round and before the next change; "
    "scored once with heads-7 and once with heads-8 (sentiment offsets chosen out of fold on the training data); "
    "aggregates only",
    "sealed9 calls": "as sealed9 utterances",
    "sealed10 utterances": "written blind on 2026-12-07 (hotel housekeeping, airport lounges, laboratories, "
    "telematics; calls with every label in at least 4 calls) after the last change of the session; scored once "
    "with that final code (heads-8): the unseen figures of the code as it stands; aggregates only",
    "sealed10 calls": "as sealed10 utterances",
    "sealed11 utterances": "written blind on 2026-12-07 (municipal offices, hospital linen, campuses, data "
    "centres, HACCP food hygiene, stations, lifts, archiving; 20 of 24 calls with 3-4 speakers) and committed "
    "before round 5; scored once with heads-8 and once with heads-9; aggregates only",
    "sealed11 calls": "as sealed11 utterances",
    "sealed12 utterances": "written blind on 2026-12-07 (industrial laundry, ferries, heritage buildings, "
    "wind-farm vessels, prisons, dental hygiene, mailrooms, graffiti removal) after round 5's change; scored once "
    "with that final code (heads-9): the unseen figures of the code as it stands; aggregates only",
    "sealed12 calls": "as sealed12 utterances",
}

NOTES = """
## How the figures are computed

* Utterances: `dealtalk eval-nlp` (each utterance one segment with its role, through the product's detector).
* Whole calls (`bench/nlp_score.py`): each call runs through `engine.analyze` as `dealtalk analyze` does. A
  marked risk is *found* when a risk of its label sits on its segment or an adjacent one and carries an exact
  quote from that segment, the segment's speaker and times inside the segment. Per-label P/R/F1 on calls: a
  marked risk counts as recalled with a prediction of its label within one segment, a prediction as correct with
  a marked risk within one segment. Sentiment per segment; action items within one segment.
* Targets (issue 13): risk micro-F1, sentiment macro-F1 and action F1 ≥ 0.85, every label ≥ 0.70, ≥ 90 % of
  whole-call risks found. "met" / "**missed**" beside every figure; labels with no support are not judged.
* Reliability: predicted risks binned by the confidence the product reports, with the share that was right.

## What changed in issue 13 (chosen on train with cross-validation, checked on dev; never on sealed errors)

* 17 lexicon patterns and vetoes that matched only holdout/holdout2 sentences and nothing in train or dev were
  removed (`scripts/nlp_pattern_audit.py`; a unit test keeps it so).
* heads-4: trained on train + holdout + holdout2, each utterance also as an ASR-style copy (`nlp/augment.py`:
  lower case, no punctuation, a filler, sometimes a false start); per-label thresholds from 5-fold out-of-fold
  F1 with an utterance and its copy in the same fold (fixed seed). On dev's ASR-style copy the union's risk
  micro-F1 went 0.899 -> 0.916 against heads-4 without copies (regression check, not the choice).
* Context over turns for whole calls (`nlp/context.py`): a seller's question and the customer's short answer,
  a rule match across two turns of one speaker, engagement from the customer's pattern over the call (answer
  lengths, talk share, unanswered questions, explicit disinterest) instead of one short turn, and a former
  supplier named once as former stays former in the call.
* Unknown suppliers: organisation-like names in a buying context count as `competitor_mention`
  (`nlp/suppliers.py`); more former-supplier vetoes; polite short answers ("Klinkt goed.", "Sure, speak soon.")
  veto `low_engagement`.
* 15 training utterances (nl, en; 12 positives, 3 hard negatives) and their patterns for the failure kinds the
  issue names with made-up examples: a decision maker abroad, a budget gap ("een gat van twintig mille"),
  "something back for the missed weeks", a location that closes.
* Risks repeated by one speaker merge only with the very next segment; a repetition after another turn keeps
  its own quote, speaker and time.

## What changed in the round scored on sealed6 (2026-12-07)

* `train_blind` (472 utterances, 16 whole calls, written blind to the rules by a helper with its own brief)
  was scored before it was used (current code then: utterances risk 0.769 / sentiment 0.733 / action 0.874;
  calls risk 0.662, 60.2 % found), then became training data: its errors were read, sealed6's never.
* Engagement: a quiet customer side (talk share <= 0.42 and median customer turn <= 7 words, midpoints between
  the disengaged and engaged training calls) is disengaged without question marks, and every evasive customer
  turn of such a call (<= 16 words) is marked. train_blind calls with heads-4: risk 0.662 -> 0.750, found
  60.2 -> 74.2 %.
* heads-5: heads-4's data plus train_blind's utterances and call turns (call-level low_engagement left out).
  Regression check, not a choice: half of train_blind added to heads-4's data scored the other half at risk
  0.736 -> 0.751, sentiment 0.729 -> 0.742, action 0.893 -> 0.911.

## Second part of the round, scored on sealed7 (2026-12-07)

* `train_blind2` (200 utterances, 18 whole calls, written blind) was scored before it was used (utterances risk
  0.808 / sentiment 0.723 / action 0.905; calls risk 0.658, 61.6 % found), then became training data.
* Engagement: a quiet customer side counts as disengaged only when the customer commits to no next step
  (share <= 0.38, median turn <= 10 words, <= 1 customer action item), chosen on the training calls, where a
  brief but decisive customer (40-42 % of the words, 2-3 commitments) was flagged by the first rule; an evasive
  turn keeps its other risks. train_blind2 calls: risk 0.658 -> 0.697, found 61.6 -> 63.0 %.
* e5 in batches of 512 tokens (embedding 239 -> 366 segments/CPU-s); heads-6 trained with the same batching
  on heads-5's data plus train_blind2.
* The sealed7 writer's summary said its two brief-but-engaged calls have 36 % and 40 % customer talk; it was
  read before the engagement thresholds were chosen. The thresholds come from the training calls' midpoints.

## Third round, scored on sealed8 (2026-12-07, later)

* sealed8 (420 utterances, 23 calls) and `train_blind3` (369 utterances, 19 calls) were written blind by two
  helper sessions with their own briefs; sealed8 was committed and scored with the base code before any change.
* `train_blind3` was scored before it was used (utterances risk 0.836 / sentiment 0.809 / action 0.954; calls
  risk 0.713, 73.9 % found, competitor recall 3 of 10), then became training data: heads-7 is heads-6's data
  plus its utterances and call turns.
* A rival named earlier is "they" later (`nlp/context.py`): a customer turn within 6 turns of a current rival
  that says "ze / zij / hun / they / their" with price, offer or comparison talk is a competitor mention. The
  window was chosen over the blind training calls and `calls_dev` (competitor recall 0.667 -> 0.726, precision
  0.833 -> 0.833; windows 2-8 tried).
* On sealed8 the round changed little and not for the better: it is reported as scored, and nothing was chosen
  or reverted by it.

## Fourth round, scored on sealed9 (2026-12-07, later)

* sealed9 (400 utterances, 21 calls, written blind) was committed and scored with heads-7 before the change.
* heads-8: the union sentiment head was trained with balanced class weights, which give the rare positive and
  negative classes the weight of the common neutral one; on train_blind3's calls (training data) a fifth of the
  neutral turns came out positive or negative. Logit offsets per class are now chosen by 5-fold out-of-fold
  macro-F1 over the whole training data in `scripts/train_nlp.py` (neutral +0.7, positive -0.2; out-of-fold
  macro-F1 0.722 -> 0.737). Risk and action heads are unchanged.

## Fifth round, scored on sealed11 (2026-12-07, night)

* sealed11 (286 utterances, 24 calls) and `train_blind4` (390 utterances, 20 calls) were written blind by two
  helper sessions with their own briefs; sealed11 was committed and scored with heads-8 before any change.
* `train_blind4` was scored before it was used (utterances risk 0.811 / sentiment 0.813 / action 0.869; calls
  risk 0.782, 80.7 % found, sentiment 0.709); its errors were read: soft terminations ("we don't plan to
  extend", "verlengen we niet", "back to doing it ourselves") missed, neutral pleasantries called positive.
* heads-9 is heads-8's data plus train_blind4's utterances and call turns; the union sentiment offsets were
  chosen again out of fold (neutral +0.8; out-of-fold macro-F1 0.721 -> 0.741). Nothing else changed.
* On sealed11 the round moved sentiment up and utterance risk down (see the table): reported as scored.
* sealed12 (277 utterances, 22 calls) was written blind after the change and scored once with heads-9.

## Disclosure

The sealed3 scores of the base commit (including this report's per-label base columns) were seen while the
report code was tested, after the context, supplier and engagement pieces had been written and before the 15
training utterances above were added; those follow the issue's own examples, not sealed3's errors, which were
never printed. Per-item sealed3 errors were never looked at; sealed3 was scored twice (base, final).
"""
