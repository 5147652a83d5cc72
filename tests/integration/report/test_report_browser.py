"""The call report as a person sees it: rendered by headless Chromium for each bundled sample call.

Each sample's reference transcript (the words actually spoken, with speakers) goes through the real insight
engine; the page is opened from a file in Chromium, its DOM dumped and a screenshot taken (kept under the
test's tmp path, printed). The page must carry every panel, link every risk marker to its transcript moment,
and contain nothing that could make a request: a strict CSP, no scripts, no http(s) URL in any attribute.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

from dealtalk.api.report_html import CSP, render_report
from dealtalk.contracts.config import Settings
from dealtalk.contracts.documents import CallResult, SegmentDoc, SpeakerDoc, TranscriptDoc
from dealtalk.ingest.local_folder import read_meeting
from dealtalk.nlp.protocols import InsightEngine
from dealtalk.pipeline.report_png import render_png
from dealtalk.pipeline.stages.analyze import insight_context
from dealtalk.samples import CALLS_DIR

pytestmark = pytest.mark.models

SAMPLES = ("call-nl-zuidhaven", "call-en-northwind", "call-mixed-brightlab")
CHROMIUM = shutil.which("chromium")


@pytest.fixture(scope="module")
def engine() -> Iterator[InsightEngine]:
    from dealtalk.nlp.engine import load_engine

    yield load_engine(Settings.load())


def sample_result(name: str, engine: InsightEngine) -> tuple[CallResult, str]:
    """The sample's reference transcript with the real insights on it, and the meeting subject."""
    settings = Settings.load()
    audio = CALLS_DIR / f"{name}.flac"
    meeting, recording_id = read_meeting(audio, settings.tenant)
    turns = json.loads(audio.with_name(f"{name}.ref.json").read_text())["turns"]
    roles = {p.name: p.role for p in meeting.participants}
    ids: dict[str, str] = {}
    for turn in turns:
        ids.setdefault(turn["name"], f"S{len(ids) + 1}")
    speakers = tuple(SpeakerDoc(id=i, name=n, role=roles.get(n, "unknown")) for n, i in ids.items())
    segments = tuple(
        SegmentDoc(
            start=t["start"],
            end=t["end"],
            speaker=ids[t["name"]],
            role=roles.get(t["name"], "unknown"),
            language=t["language"],
            text=t["text"],
        )
        for t in turns
    )
    languages = [t["language"] for t in turns]
    transcript = TranscriptDoc(
        call_id=recording_id,
        language=max(set(languages), key=languages.count),
        duration_s=max(t["end"] for t in turns),
        speakers=speakers,
        segments=segments,
    )
    competitors = tuple(settings.nlp.competitors)
    insights = engine.analyze(transcript, insight_context(meeting, settings.tenant, competitors))
    return CallResult.join(transcript, insights), meeting.subject or recording_id


class _Elements(HTMLParser):
    """Collects ids, link targets, every attribute value and the tags of a dumped DOM."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str]] = []
        self.marker_targets: list[str] = []
        self.csp: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = {k: v or "" for k, v in attrs}
        self.attributes.extend((tag, k, v) for k, v in values.items())
        if "id" in values:
            self.ids.add(values["id"])
        if tag == "a" and "risk-marker" in values.get("class", ""):
            self.marker_targets.append(values.get("href", ""))
        if tag == "meta" and values.get("http-equiv", "").lower() == "content-security-policy":
            self.csp = values.get("content")


def _chromium(*args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (scripts/setup.sh --dev installs it)")
@pytest.mark.parametrize("name", SAMPLES)
def test_the_report_renders_in_chromium_with_every_panel_and_no_requests(
    name: str, engine: InsightEngine, tmp_path: Path
) -> None:
    result, subject = sample_result(name, engine)
    page = tmp_path / f"{name}.html"
    page.write_text(render_report(result, subject=subject), encoding="utf-8")

    dom = _chromium("--dump-dom", page.as_uri()).stdout
    shot = tmp_path / f"{name}.png"
    _chromium("--window-size=1280,2600", f"--screenshot={shot}", page.as_uri())
    print(f"report screenshot: {shot}")

    found = _Elements()
    found.feed(dom)
    for panel in ("health", "summary", "timeline", "sentiment", "talkshare", "kpis", "transcript", "models"):
        assert panel in found.ids, f"{panel} missing from the rendered page"
    assert ("risks" in found.ids) == bool(result.risks)
    assert ("actions" in found.ids) == bool(result.action_items)
    # One marker per risk, each linking to a transcript turn that exists.
    assert len(found.marker_targets) == len(result.risks)
    assert all(target.startswith("#s") and target[1:] in found.ids for target in found.marker_targets)
    # Nothing that could leave the page: the CSP forbids fetches, and no attribute names a URL or a script.
    assert found.csp == CSP
    assert "script" not in found.tags and "iframe" not in found.tags and "link" not in found.tags
    urls = [
        (t, k, v) for t, k, v in found.attributes if re.search(r"(https?:|//|data:)", v) and k != "content"
    ]
    assert urls == []
    assert all(v.startswith("#") for t, k, v in found.attributes if k in ("href", "src", "xlink:href"))
    # The screenshot is a real page, not an error page: a PNG of the requested width with content.
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(data[16:20], "big") == 1280
    assert len(data) > 50_000


@pytest.mark.parametrize("name", SAMPLES[:1])
def test_the_png_snapshot_is_an_image_of_the_call(name: str, engine: InsightEngine, tmp_path: Path) -> None:
    result, subject = sample_result(name, engine)
    data = render_png(result, subject=subject)
    target = tmp_path / f"{name}.snapshot.png"
    target.write_bytes(data)
    print(f"PNG snapshot: {target}")
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1100, 770)
