"""The emulated fleet's portals run app robots: install and uninstall events; closed with the fleet."""

from __future__ import annotations

import aiohttp
from aiohttp import web

from bitrix_bizproc.emulator import EmulatedFleet


async def test_each_portal_installs_and_uninstalls_with_its_own_tokens() -> None:
    seen: list[dict[str, str]] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        return web.json_response({"result": "ok"})

    web_app = web.Application()
    web_app.router.add_post("/", handler)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/"
    try:
        async with EmulatedFleet() as emulated:
            a, b = emulated.add_portal("member-a"), emulated.add_portal("member-b")
            assert await a.robots.install(url) == 200
            assert await b.robots.install(url) == 200
            install_a, install_b = seen
            assert install_a["auth[member_id]"] == "member-a"
            assert install_a["auth[client_endpoint]"] == emulated.rest_url("member-a")
            assert install_a["auth[domain]"] == a.config.domain
            assert install_a["auth[application_token]"] != install_b["auth[application_token]"]
            assert await a.robots.uninstall() == 200
            assert seen[-1]["event"] == "ONAPPUNINSTALL"
            async with aiohttp.ClientSession() as http:  # the app's REST access ends with the uninstall
                for auth, status in ((install_a, 401), (install_b, 200)):
                    query = {"auth": auth["auth[access_token]"]}
                    async with http.post(auth["auth[client_endpoint]"] + "user.get", data=query) as resp:
                        assert resp.status == status
            sessions = [a.robots._session, b.robots._session]
            assert all(s is not None and not s.closed for s in sessions)
        assert all(s is not None and s.closed for s in sessions)  # stopping the fleet closes every runtime
    finally:
        await runner.cleanup()
