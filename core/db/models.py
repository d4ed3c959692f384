"""Imports every domain's models so that Base.metadata knows every table."""


def import_all_models() -> None:
    import core.compute.models  # noqa: F401
    import core.ec2.models  # noqa: F401
    import core.identity.models  # noqa: F401
    import core.image.models  # noqa: F401
    import core.network.models  # noqa: F401
    import core.scheduler.models  # noqa: F401
