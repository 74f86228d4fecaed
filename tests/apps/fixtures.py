"""Requests the portal POSTs to apps, as recorded from real portals (each names its source).

Bodies are form-encoded PHP arrays, as the portal sends them (``application/x-www-form-urlencoded``).
"""

from __future__ import annotations

from urllib.parse import urlencode

FORM = {"Content-Type": "application/x-www-form-urlencoded"}

# A workflow activity call, recorded with print_r($_REQUEST) on a live portal in
# mesilov/bitrix24-php-sdk: examples/application/local/activity-handler.php (the comment at its end).
ACTIVITY_CALL: list[tuple[str, str]] = [
    ("workflow_id", "664fa13bbbb410.99176768"),
    ("code", "test_activity"),
    ("document_id[0]", "crm"),
    ("document_id[1]", "CCrmDocumentContact"),
    ("document_id[2]", "CONTACT_109286"),
    ("document_type[0]", "crm"),
    ("document_type[1]", "CCrmDocumentContact"),
    ("document_type[2]", "CONTACT"),
    (
        "event_token",
        "664fa13bbbb410.99176768|A40364_79843_85254_57332|MS1ekdI0CvXi8ycL8qNIn96hak8JEndG."
        "54020ce210345fb6eb12a79d75316d9430b42ccd9c1d82ab1a3bf8b064ec50e9",
    ),
    ("properties[comment]", "дефолтная строка - значение"),
    ("properties[amount]", "333"),
    ("use_subscription", "Y"),
    ("timeout_duration", "660"),
    ("ts", "1716494651"),
    ("auth[access_token]", "4baf4f66006e13540058f18a000000100000009b41bce7ec85f07c3646c07e6d629e7c"),
    ("auth[refresh_token]", "3b2e7766006e13540058f18a000000100000003b31a96730e79dc7561c1d7d0b33933f"),
    ("auth[expires]", "1716498251"),
    ("auth[server_endpoint]", "https://oauth.bitrix.info/rest/"),
    ("auth[client_endpoint]", "https://bitrix24-php-sdk-playground.bitrix24.ru/rest/"),
    ("auth[scope]", "crm,bizproc,appform,baas,placement,user_brief,call,telephony"),
    ("auth[status]", "L"),
    ("auth[application_token]", "f9ac5db5ad4adbdee13eb034207d8fbd"),
    ("auth[expires_in]", "3600"),
    ("auth[domain]", "bitrix24-php-sdk-playground.bitrix24.ru"),
    ("auth[member_id]", "010b6886ebc205e43ae65000ee00addb"),
    ("auth[user_id]", "16"),
]
ACTIVITY_APP_TOKEN = "f9ac5db5ad4adbdee13eb034207d8fbd"
ACTIVITY_MEMBER = "010b6886ebc205e43ae65000ee00addb"

# ONAPPINSTALL as received by a live app, documented in
# shadrinov/asterisk-connector: src/main/java/ru/ntechs/asteriskconnector/bitrix/BitrixEvent.java.
INSTALL_EVENT: list[tuple[str, str]] = [
    ("event", "ONAPPINSTALL"),
    ("data[VERSION]", "1"),
    ("data[LANGUAGE_ID]", "ru"),
    ("ts", "1579686153"),
    ("auth[access_token]", "1927285e0043d4ca0042213e000000070000037c0754d2995eec0feff429359baa5d53"),
    ("auth[expires]", "1579689753"),
    ("auth[expires_in]", "3600"),
    ("auth[scope]", "crm,telephony,call"),
    ("auth[domain]", "ntechs.bitrix24.ru"),
    ("auth[server_endpoint]", "https://oauth.bitrix.info/rest/"),
    ("auth[status]", "L"),
    ("auth[client_endpoint]", "https://ntechs.bitrix24.ru/rest/"),
    ("auth[member_id]", "78727e6e7334a5b7f57357a6a7e63480"),
    ("auth[user_id]", "7"),
    ("auth[refresh_token]", "09a64f5e0043d4ca0042213e000000070000031f2ccba0dc66d3742428b432eb11ec75"),
    ("auth[application_token]", "9f871c9abe689a943110e60ebd7337de"),
]
INSTALL_APP_TOKEN = "9f871c9abe689a943110e60ebd7337de"
INSTALL_MEMBER = "78727e6e7334a5b7f57357a6a7e63480"

# ONAPPUNINSTALL: data[CLEAN] 1/0 and application_token (dev.1c-bitrix.ru/rest_help/general/events/
# onappuninstall.php); auth carries the portal and the app's token, as for the install above.
UNINSTALL_EVENT: list[tuple[str, str]] = [
    ("event", "ONAPPUNINSTALL"),
    ("data[CLEAN]", "1"),
    ("ts", "1579686999"),
    ("auth[domain]", "ntechs.bitrix24.ru"),
    ("auth[member_id]", INSTALL_MEMBER),
    ("auth[application_token]", INSTALL_APP_TOKEN),
]

# An event of a bound handler: the docs' ONCRMDEALUPDATE (reference/bitrix24-docs/local-integrations/
# local-webhooks.md, "What the Handler Receives").
DEAL_UPDATE_EVENT: list[tuple[str, str]] = [
    ("event", "ONCRMDEALUPDATE"),
    ("data[FIELDS][ID]", "662"),
    ("ts", "1724140800"),
    ("auth[domain]", "ntechs.bitrix24.ru"),
    ("auth[member_id]", INSTALL_MEMBER),
    ("auth[application_token]", INSTALL_APP_TOKEN),
]


def body(pairs: list[tuple[str, str]], **changes: str | None) -> bytes:
    """The form body of ``pairs`` with some fields replaced (``None`` drops the field)."""
    out = []
    for key, value in pairs:
        if key in changes:
            new = changes[key]
            if new is None:
                continue
            value = new
        out.append((key, value))
    return urlencode(out).encode()
