"""Every domain's models, imported so that ``Base.metadata`` knows every table.

Only the migrations environment (and the test comparing it with the models)
needs the whole schema at once; ``core.db`` itself imports no domain.
"""

import core.compute.models  # noqa: F401
import core.identity.models  # noqa: F401
import core.idmap.models  # noqa: F401
import core.image.models  # noqa: F401
import core.network.models  # noqa: F401
import core.placement.models  # noqa: F401
import core.quota.models  # noqa: F401
import core.volume.models  # noqa: F401
import core.vpc.models  # noqa: F401
