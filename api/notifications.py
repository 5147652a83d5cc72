"""The Graph webhook: change notifications and lifecycle notifications (include with ``app.include_router``).

Per Microsoft's webhook contract:

* validation: Graph POSTs ``?validationToken=…``; we answer 200, ``text/plain``, the token as is (within 10 s);
* delivery: we answer 202 within 3 s after handing the work to ``submit`` (a queue); a notification whose
  ``clientState`` is not ours is dropped; a body that is not a notification collection gets 400;
* lifecycle events (``reauthorizationRequired``, ``subscriptionRemoved``, ``missed``) arrive on the second URL
  and are queued the same way.

Nothing from the payload is logged beyond counts and ids.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import SecretStr

from dealtalk.contracts.errors import InvalidInput
from dealtalk.ingest.graph.notifications import NotificationWork, accept_notifications

__all__ = ["graph_notification_router"]


def graph_notification_router(
    *, client_state: SecretStr, submit: Callable[[NotificationWork], None], prefix: str = "/graph"
) -> APIRouter:
    """The webhook routes: ``POST {prefix}/notifications`` and ``POST {prefix}/lifecycle``.

    Args:
        client_state: the secret sent with every subscription (``DEALTALK_GRAPH__CLIENT_STATE``).
        submit: queues work; must return at once (e.g. ``NotificationQueue.submit``).
        prefix: where the routes live; the subscription's URLs must point here.
    """
    router = APIRouter(prefix=prefix, tags=["graph"])
    secret = client_state.get_secret_value()

    async def receive(request: Request) -> Response:
        token = request.query_params.get("validationToken")
        if token is not None:
            # Starlette already URL-decoded the query value; Graph wants it back unencoded.
            return PlainTextResponse(token, status_code=200)
        try:
            accepted = accept_notifications(await request.body(), client_state=secret)
        except InvalidInput as exc:
            return JSONResponse({"error": "InvalidInput", "message": str(exc)}, status_code=400)
        for work in accepted.work:
            submit(work)
        return Response(status_code=202)

    router.add_api_route("/notifications", receive, methods=["POST"], include_in_schema=False)
    router.add_api_route("/lifecycle", receive, methods=["POST"], include_in_schema=False)
    return router
