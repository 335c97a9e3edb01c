"""The staff console (``/console``): the queue, one request with its recommendation and the actions on it,
the approval preview, and the agencies.

Server-rendered pages that work without JavaScript. Every page and action checks the staff permission
(and the lawful services check it again); every POST form carries the session's CSRF token. Each HTTP
request is one unit of work: an action that the domain refuses rolls back, and the page is shown again
with the reason and nothing changed. The actions call the same services as the staff API
(``trustdesk.lawful.staff_routes``).
"""

from fastapi import APIRouter

from trustdesk.web.console import (
    access,
    agencies,
    conflicts,
    documents,
    lawful,
    lawful_actions,
    mailroom,
    moderation,
    moderation_admin,
    oncall,
    triage,
    verification,
)

router = APIRouter(include_in_schema=False)
"""Every console page, one module per domain (``lawful``, ``conflicts``, ``agencies``); what they share
is in ``common``."""
router.include_router(lawful.router)
router.include_router(lawful_actions.router)
router.include_router(conflicts.router)
router.include_router(agencies.router)
router.include_router(moderation.router)
router.include_router(moderation_admin.router)
router.include_router(verification.router)
router.include_router(documents.router)
router.include_router(access.router)
router.include_router(oncall.router)
router.include_router(mailroom.router)
router.include_router(triage.router)
