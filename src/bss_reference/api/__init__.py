"""One module per API domain; each exposes ``build_router(ctx) -> APIRouter``."""
