"""The API's routers, each route with its declared roles (``require``)."""
