"""Every table of every domain package, imported so the metadata is complete for migrations."""
from sqlmodel import SQLModel

from canteen.assessment import models as assessment_models  # noqa: F401
from canteen.auth import models as auth_models  # noqa: F401
from canteen.calendar import models as calendar_models  # noqa: F401
from canteen.jobs import models as job_models  # noqa: F401
from canteen.kitchen.ledger import models as ledger_models  # noqa: F401
from canteen.kitchen.terminal import models as terminal_models  # noqa: F401
from canteen.org import models as org_models  # noqa: F401
from canteen.points import models as points_models  # noqa: F401
from canteen.reservation import models as reservation_models  # noqa: F401
from canteen.weighing import models as weighing_models  # noqa: F401
from canteen.weighing.costs import models as costs_models  # noqa: F401

metadata = SQLModel.metadata
