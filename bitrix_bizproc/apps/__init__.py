"""Bitrix24 apps: robots and activities the portal calls, install/uninstall, replies, and web adapters.

::

    app = BitrixApp(client_id=..., client_secret=..., handler_url="https://my.app/bitrix24")

    @app.robot("md5", name="MD5", properties={"text": Property(name="Text", type="string")},
               return_properties={"hash": Property(name="Hash", type="string")})
    async def md5(call: RobotCall) -> dict[str, str]:
        return {"hash": hashlib.md5(call.properties["text"].encode()).hexdigest()}

Mount it with :func:`aiohttp_handler` / :func:`aiohttp_app` or :class:`AsgiApp`. Serving many portals next
to fleet jobs: ``BitrixApp(..., fleet=Fleet(store, ..., auto_batch=True))`` keeps one store and one client
per portal for both.
"""

from ..models.activity import Property
from .aiohttp import aiohttp_app, aiohttp_handler
from .app import AppResponse, BitrixApp, EventHandler
from .asgi import AsgiApp
from .calls import RobotCall
from .declarations import Declaration, RobotHandler, SyncReport, sync_declarations
from .errors import ForgedRequestError, MalformedRequestError, UnknownRobotError
from .requests import InstallEvent, PortalAuth, PortalEvent, RobotRequest, UninstallEvent, parse_request
from .values import from_portal, to_portal

__all__ = [
    "AppResponse",
    "AsgiApp",
    "BitrixApp",
    "Declaration",
    "EventHandler",
    "ForgedRequestError",
    "InstallEvent",
    "MalformedRequestError",
    "PortalAuth",
    "PortalEvent",
    "Property",
    "RobotCall",
    "RobotHandler",
    "RobotRequest",
    "SyncReport",
    "UninstallEvent",
    "UnknownRobotError",
    "aiohttp_app",
    "aiohttp_handler",
    "from_portal",
    "parse_request",
    "sync_declarations",
    "to_portal",
]
