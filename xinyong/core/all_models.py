"""Import every domain's tables so that ``Base.metadata`` is complete (migrations, tests)."""

from xinyong.accounts import models as account_models  # noqa: F401
from xinyong.audit import models as audit_models  # noqa: F401
from xinyong.catalog import models as catalog_models  # noqa: F401
from xinyong.commitments import models as commitment_models  # noqa: F401
from xinyong.core import models as core_models  # noqa: F401
from xinyong.departments import models as department_models  # noqa: F401
from xinyong.evaluation import models as evaluation_models  # noqa: F401
from xinyong.notifications import models as notification_models  # noqa: F401
from xinyong.objections import models as objection_models  # noqa: F401
from xinyong.records import models as record_models  # noqa: F401
from xinyong.repair import models as repair_models  # noqa: F401
from xinyong.reports import codes_models as credit_code_models  # noqa: F401
from xinyong.reports import models as report_models  # noqa: F401
from xinyong.subjects import models as subject_models  # noqa: F401
from xinyong.supervision import models as supervision_models  # noqa: F401
