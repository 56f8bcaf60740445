"""Services: what the routers, the CLI and the workers do, as plain functions over a Session."""
