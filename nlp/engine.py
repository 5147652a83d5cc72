"""The insight engine: loads models once, then analyses transcripts (``InsightEngine`` protocol).

``load_engine(settings)`` builds the engine (the composition root, ``pipeline/models_and_clients.py``, calls it
once per process): e5 on onnxruntime, the trained heads, the compiled lexicons. ``analyze`` runs KPIs, detection
(rules united with heads), risk signals with quotes, action items, entities, health and the summary, and never
needs torch.
"""

from __future__ import annotations

import hashlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources

from dealtalk.contracts.config import Settings
from dealtalk.contracts.documents import EntityDoc, InsightsDoc, ModelRef, SentimentDoc, TranscriptDoc
from dealtalk.contracts.errors import InvalidInput
from dealtalk.nlp.context import QuestionAnswers, load_question_answers, refine_call
from dealtalk.nlp.detect import Detector
from dealtalk.nlp.embedder import load_embedder
from dealtalk.nlp.entities import find_entities
from dealtalk.nlp.heads import load_heads
from dealtalk.nlp.health import call_health
from dealtalk.nlp.kpis import compute_kpis
from dealtalk.nlp.protocols import InsightContext
from dealtalk.nlp.rules import RuleSet, load_rules
from dealtalk.nlp.signals import action_items, risk_signals
from dealtalk.nlp.summary import SummaryFacts, SummaryGenerator, TemplateSummary, summary_language

__all__ = ["DealtalkInsightEngine", "load_engine"]

log = logging.getLogger(__name__)

ENGINE_VERSION = "insights-2"
# Segments beyond this are refused: a 3-hour call has about 3,000; this is 10x that.
MAX_SEGMENTS = 30_000


@dataclass(frozen=True, slots=True)
class _Roles:
    role_of: dict[str, str]
    sellers: tuple[str, ...]


class DealtalkInsightEngine:
    """KPIs, sentiment, risks, entities, action items, summary and health for one transcript.

    Build it with ``load_engine``; it holds no per-call state and may be shared by threads of one process.
    """

    def __init__(
        self,
        detector: Detector,
        *,
        competitors: tuple[str, ...],
        summarizer: SummaryGenerator | None = None,
        question_answers: QuestionAnswers | None = None,
    ) -> None:
        self._detector = detector
        self._qa = question_answers or load_question_answers()
        self._competitors = competitors
        self._summarizer = summarizer or TemplateSummary()
        embedder, heads = detector.embedder, detector.heads
        lexicon_sha = _lexicon_sha()
        heads_sha = heads.sha256 if heads else "none"
        self._models = {
            "nlp": ModelRef(
                name=f"{embedder.model.name}+heads+rules" if embedder else "rules",
                version=f"{ENGINE_VERSION}/{heads.version if heads else 'no-heads'}",
                source=embedder.model.source if embedder else "dealtalk lexicons",
                sha256=hashlib.sha256(
                    f"{embedder.model.sha256 if embedder else ''}:{heads_sha}:{lexicon_sha}".encode()
                ).hexdigest(),
            )
        }
        # ":union" names the detection (rules united with heads), as versions stored since insights-2 do.
        self._version = f"{ENGINE_VERSION}:{self._models['nlp'].sha256[:16]}:union"

    @property
    def models(self) -> dict[str, ModelRef]:
        return dict(self._models)

    @property
    def version(self) -> str:
        return self._version

    def analyze(self, transcript: TranscriptDoc, context: InsightContext) -> InsightsDoc:
        """Analyse one transcript. An empty transcript gives an empty but valid InsightsDoc.

        Raises:
            InvalidInput: more than 30,000 segments, or segments that end before they start.
        """
        started = time.perf_counter()
        segments = transcript.segments
        if len(segments) > MAX_SEGMENTS:
            raise InvalidInput(
                f"transcript has {len(segments)} segments; at most {MAX_SEGMENTS} are analysed",
                recording_id=transcript.call_id,
            )
        backwards = [i for i, s in enumerate(segments) if s.end < s.start]
        if backwards:
            raise InvalidInput(
                f"segment {backwards[0]} ends before it starts ({len(backwards)} such segment(s)); "
                "times must be seconds from the start of the recording with end >= start",
                recording_id=transcript.call_id,
            )
        roles = _roles(transcript)
        segment_roles = [roles.role_of.get(s.speaker, "unknown") for s in segments]
        competitors = tuple(dict.fromkeys((*self._competitors, *context.competitors)))
        texts = [s.text for s in segments]
        persons = tuple(p.name for p in context.participants if p.name)
        findings = self._detector.detect(texts, segment_roles, competitors=competitors, persons=persons)
        # Windows of turns: a question and its answer, a thought over two turns, engagement over the call.
        findings = refine_call(
            findings, texts, segment_roles, [s.speaker for s in segments], self._detector, self._qa
        )
        sentiments = tuple(
            SentimentDoc(label=f.sentiment, score=round(f.sentiment_score, 3)) for f in findings
        )
        kpis = compute_kpis(segments, duration_s=transcript.duration_s, roles=roles.role_of)
        severities = {label: rules.severity for label, rules in self._detector.rules.labels.items()}
        risks = risk_signals(segments, findings, severities)
        items = action_items(segments, findings, context.call_date)
        health = call_health(
            risks=risks,
            sentiments=sentiments,
            customer_segments=[i for i, role in enumerate(segment_roles) if role != "seller"],
            kpis=kpis,
            action_items=items,
            seller_ids=roles.sellers,
        )
        entities = self._entities(transcript, context, competitors)
        names = {speaker.id: speaker.name for speaker in transcript.speakers}
        facts = SummaryFacts(
            language=summary_language(segments, transcript.language),
            duration_s=kpis.call.duration_s,
            segments=segments,
            sentiments=sentiments,
            roles=roles.role_of,
            names=names,
            risks=risks,
            action_items=items,
            kpis=kpis,
            health=health,
        )
        summary = self._summarizer.summarize(facts) if segments else ""
        log.info(
            "insights for %s: %d segments, %d risks, %d action items in %.2f s",
            transcript.call_id,
            len(segments),
            len(risks),
            len(items),
            time.perf_counter() - started,
        )
        return InsightsDoc(
            call_id=transcript.call_id,
            sentiments=sentiments,
            kpis=kpis,
            risks=tuple(risks),
            action_items=tuple(items),
            summary=summary,
            health=health,
            entities=entities,
            models=self.models,
        )

    def _entities(
        self, transcript: TranscriptDoc, context: InsightContext, competitors: tuple[str, ...]
    ) -> tuple[EntityDoc, ...]:
        persons = [p.name for p in context.participants] + [s.name for s in transcript.speakers if s.name]
        found: list[EntityDoc] = []
        for index, segment in enumerate(transcript.segments):
            for entity in find_entities(
                segment.text, call_date=context.call_date, competitors=competitors, persons=persons
            ):
                found.append(
                    EntityDoc(
                        type=entity.type,
                        text=entity.text,
                        value=entity.value,
                        unit=entity.unit,
                        segment_index=index,
                        start=segment.start,
                    )
                )
        return tuple(found)


def _roles(transcript: TranscriptDoc) -> _Roles:
    role_of: dict[str, str] = {speaker.id: speaker.role for speaker in transcript.speakers}
    for segment in transcript.segments:
        # Segments carry roles too; a speaker missing from the speaker list takes its segment's role.
        if role_of.get(segment.speaker, "unknown") == "unknown" and segment.role != "unknown":
            role_of[segment.speaker] = segment.role
        role_of.setdefault(segment.speaker, "unknown")
    sellers = tuple(sorted(speaker for speaker, role in role_of.items() if role == "seller"))
    return _Roles(role_of, sellers)


def _lexicon_sha() -> str:
    digest = hashlib.sha256()
    for name in ("risks.json", "actions.json", "context.json", "common_words.json"):
        digest.update(resources.files("dealtalk.nlp.lexicons").joinpath(name).read_bytes())
    return digest.hexdigest()


def load_rules_for(settings: Settings) -> RuleSet:
    """The lexicons with the configured competitor names."""
    return load_rules(settings.nlp.competitors)


def load_engine(settings: Settings, *, summarizer: SummaryGenerator | None = None) -> DealtalkInsightEngine:
    """Load e5 (ONNX int8), the trained heads and the lexicons once; returns the engine.

    Args:
        settings: ``settings.nlp`` (competitors, onnx_threads, model_dir) and the model cache location.
        summarizer: an alternative summary generator (a local LLM); the template by default.

    Raises:
        ConfigurationError: the e5 export or the heads are missing (the message names the fix).

    Usage: ``engine = load_engine(Settings.load()); insights = engine.analyze(transcript, InsightContext())``
    """
    from dealtalk.models.e5 import E5_DIR_NAME

    started = time.perf_counter()
    folder = settings.nlp.model_dir or settings.model_cache_dir / E5_DIR_NAME
    # The model files load in native code while spaCy imports and the lexicons compile in Python: the two
    # overlap on a second core.
    with ThreadPoolExecutor(max_workers=1) as pool:
        embedder = pool.submit(load_embedder, folder, threads=settings.nlp.onnx_threads)
        rules = load_rules_for(settings)
        detector = Detector(rules, embedder=embedder.result(), heads=load_heads())
    engine = DealtalkInsightEngine(detector, competitors=settings.nlp.competitors, summarizer=summarizer)
    log.info("insight engine loaded in %.2f s (%s)", time.perf_counter() - started, engine.version)
    return engine
