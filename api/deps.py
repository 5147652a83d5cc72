"""Dependencies the routes share (FastAPI ``Annotated[..., Depends]`` aliases)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from dealtalk.pipeline.resources import Resources

__all__ = ["ResourcesDep", "get_resources"]


def get_resources(request: Request) -> Resources:
    """The process's resources, opened once by the app's lifespan."""
    resources: Resources = request.app.state.resources
    return resources


ResourcesDep = Annotated[Resources, Depends(get_resources)]
