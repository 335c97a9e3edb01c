"""Imports every model module, so that ``Base.metadata`` describes the whole schema."""

import trustdesk.audit.models
import trustdesk.auth.models
import trustdesk.authorities.models
import trustdesk.intake.models
import trustdesk.lawful.models
import trustdesk.oncall.models
import trustdesk.safety.models
import trustdesk.staff.models
import trustdesk.transparency.models  # noqa: F401
