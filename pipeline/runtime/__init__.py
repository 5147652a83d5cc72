"""The thin runtime that moves events between stages: shared delivery handling, plus one driver per bus."""
