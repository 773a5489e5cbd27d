"""Web adapter: FastAPI app with the JSON API under /api/v1 and the HTML pages."""
