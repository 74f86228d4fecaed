"""Many portals from one process: a pool of clients keyed by ``member_id``, and fleet-wide jobs.

::

    store = MemoryPortalStore()                 # or FilePortalStore(dir), fleet.redis.RedisPortalStore(r)
    await store.save(member_id, tokens)         # from the app's install event
    async with Fleet(store, client_id=..., client_secret=..., plans={member_id: "enterprise"}) as fleet:
        async with fleet.lease(member_id) as client:
            await client.workflows.instances()
        report = await terminate_fleet(fleet, filter=instance_filter(started_before="2025-01-01"),
                                       journal_dir="journals/")
        print(report)                           # a total, then the portals that are not ok

Scale-out over several processes: :mod:`bitrix_bizproc.fleet.worker` (arq, extra ``worker``).
"""

from ._fleet import Fleet, PortalNotFoundError, SharedBucketFactory
from .jobs import FleetReport, PortalFailure, offboard_fleet, run_on_fleet, terminate_fleet
from .stores import FilePortalStore, MemoryPortalStore, PortalTokenStore

__all__ = [
    "FilePortalStore",
    "Fleet",
    "FleetReport",
    "MemoryPortalStore",
    "PortalFailure",
    "PortalNotFoundError",
    "PortalTokenStore",
    "SharedBucketFactory",
    "offboard_fleet",
    "run_on_fleet",
    "terminate_fleet",
]
