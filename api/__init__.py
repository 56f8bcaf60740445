"""The torchgrade service: the HTTP API, its data model and services (shared with ``workers``)."""
