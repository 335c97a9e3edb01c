"""The FastAPI app factory."""

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline

from trustdesk import __version__
from trustdesk.app import Container
from trustdesk.lawful.hold_routes import router as hold_router
from trustdesk.lawful.removal_routes import router as removal_router
from trustdesk.lawful.routes import router as lawful_router
from trustdesk.lawful.staff_routes import router as staff_router
from trustdesk.safety.notice_routes import router as notice_router
from trustdesk.safety.routes import router as safety_router
from trustdesk.transparency.tlog_routes import router as tlog_router
from trustdesk.web import problems
from trustdesk.web.console.routes import router as console_router
from trustdesk.web.enrol_routes import router as enrol_router
from trustdesk.web.login_routes import router as login_router
from trustdesk.web.middleware import BodySizeLimit, SecurityHeaders
from trustdesk.web.portal.dossier import router as portal_dossier_router
from trustdesk.web.portal.notices import router as portal_notices_router
from trustdesk.web.portal.routes import router as portal_router
from trustdesk.web.public.channels import router as channels_router
from trustdesk.web.public.routes import router as public_router
from trustdesk.web.public.transparency import router as transparency_router


def app_from_settings() -> FastAPI:
    """The app of one ``serve --workers N`` process: its own container from the environment."""
    from trustdesk.app import build_container
    from trustdesk.config import load_settings

    container = build_container(load_settings())
    container.warm_up()
    return create_app(container)


def create_app(container: Container) -> FastAPI:
    # Swagger UI and ReDoc served from the installed package, not a CDN: the docs work offline.
    app = FastAPIOffline(
        title="Trustdesk",
        version=__version__,
        summary="The single point of contact of a messaging platform for authorities.",
        description="Submit lawful requests, follow them to their answer. Authenticate with an officer's "
        "API key: `Authorization: Bearer tdk_…`. Errors are RFC 9457 problem details.",
    )
    app.state.container = container
    problems.install(app)
    app.include_router(lawful_router)
    app.include_router(hold_router)
    app.include_router(staff_router)
    app.include_router(removal_router)
    app.include_router(login_router)
    app.include_router(enrol_router)
    app.include_router(public_router)
    app.include_router(channels_router)
    app.include_router(portal_router)
    app.include_router(portal_notices_router)
    app.include_router(portal_dossier_router)
    app.include_router(console_router)
    app.include_router(safety_router)
    app.include_router(notice_router)
    app.include_router(tlog_router)
    app.include_router(transparency_router)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")

    @app.get("/healthz", tags=["operations"], summary="Liveness")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    settings = container.settings

    def limit_for(path: str) -> int:
        uploads = path.endswith("/documents") or path == "/portal/requests"
        if path in ("/api/v1/match", "/api/v1/content-events"):  # an image, or events carrying images
            return settings.max_media_bytes + 65_536
        return settings.max_document_bytes + 65_536 if uploads else settings.max_json_body_bytes

    app.add_middleware(BodySizeLimit, limit_for=limit_for)
    app.add_middleware(SecurityHeaders)
    return app
