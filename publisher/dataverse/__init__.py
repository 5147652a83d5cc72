"""Dataverse Web API client, resolver, publisher and provisioning (MSAL + httpx)."""
