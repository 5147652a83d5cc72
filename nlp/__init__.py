"""Insights from a transcript: KPIs, sentiment, negotiation risks with evidence, action items, summary."""

from dealtalk.nlp.protocols import InsightContext, InsightEngine

__all__ = ["InsightContext", "InsightEngine"]
