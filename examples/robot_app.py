"""A Bitrix24 app with one robot, run end to end against the emulated portal: ``python examples/robot_app.py``.

The portal starts a workflow whose template holds the app's ``md5`` robot; it POSTs the call to the app
(served by aiohttp on loopback), the app's handler returns the hash, ``call.reply`` sends it back with
``bizproc.event.send``, and the workflow completes with the return value.
"""

from __future__ import annotations

import asyncio
import hashlib

from aiohttp import web

from bitrix_bizproc.apps import BitrixApp, Property, RobotCall, aiohttp_app
from bitrix_bizproc.emulator import EmulatedPortal


def build_app(portal: EmulatedPortal) -> BitrixApp:
    """The app: its OAuth credentials (here the emulator's) and one robot that hashes a text."""
    app = BitrixApp(
        client_id=portal.oauth_app.client_id,
        client_secret=portal.oauth_app.client_secret,
        handler_url="http://127.0.0.1/",  # set once the server knows its port
        token_url=portal.token_url,
    )

    @app.robot(
        "md5",
        name={"en": "MD5 of a text"},
        properties={"text": Property(name="Text", type="string", required=True)},
        return_properties={"hash": Property(name="Hash", type="string")},
    )
    async def md5(call: RobotCall) -> dict[str, str]:
        return {"hash": hashlib.md5(call.properties["text"].encode()).hexdigest()}

    return app


async def main() -> None:
    async with EmulatedPortal() as portal:
        app = build_app(portal)
        web_app = web.Application()
        web_app.add_subapp("/bitrix24/", aiohttp_app(app))
        runner = web.AppRunner(web_app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        try:
            app.handler_url = f"http://127.0.0.1:{runner.addresses[0][1]}/bitrix24/"
            await portal.robots.install(app.handler_url)  # ONAPPINSTALL: the app saves the tokens
            print("registered:", await app.sync(portal.config.member_id))
            template = portal.state.add_template(
                "Hash the title",
                ("crm", "CCrmDocumentDeal", "DEAL"),
                tasks=[{"activity": "RestActivity", "code": "md5", "properties": {"text": "hello"}}],
            )
            workflow = portal.state.start_workflow(template, "DEAL_1", 1)
            record = await portal.robots.wait(workflow.id)
            (run,) = portal.robots.runs_of(workflow.id)
            print(f"workflow {record.id}: {record.state}, robot {run.code}: {run.status}, {run.return_values}")
        finally:
            await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
