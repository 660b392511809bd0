"""A real SMS gateway adapter for the tests: it "delivers" by appending a JSON line per message
to the file named by WZCHECKIN_TEST_SMS_FILE, and fails for numbers ending in 0000 — enough to
exercise the adapter interface (selected with WZCHECKIN_SMS_GATEWAY) end to end."""

from __future__ import annotations

import json
import os

from wzcheckin.core.sms import OutgoingSms, SmsSendError


class FileGateway:
    name = "test_file"
    needs_phone = True

    def __init__(self):
        self.path = os.environ["WZCHECKIN_TEST_SMS_FILE"]

    def send(self, message: OutgoingSms) -> str | None:
        if message.phone is None or message.phone.endswith("0000"):
            raise SmsSendError("recipient refused by the provider")
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"to": message.phone, "key": message.dedupe_key, "body": message.body},
                                    ensure_ascii=False) + "\n")
        return f"file-{message.id}"
