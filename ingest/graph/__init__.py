"""Teams recordings through Microsoft Graph: discovery (webhooks + delta sync), fetching, meeting metadata.

Entry points (import the modules; this package imports nothing heavy):

* ``dealtalk.ingest.graph.factory.load_graph_fetcher(settings)`` -> the ``RecordingFetcher`` for Graph events;
* ``dealtalk.ingest.graph.factory.load_graph_ingest(settings, emit=...)`` -> ``GraphIngest`` (``sync()``,
  ``handle(work)``, ``run_forever(stop, interval_s=...)``);
* ``dealtalk.ingest.graph.service.NotificationQueue`` and ``dealtalk.api.notifications`` for the webhook.
"""
