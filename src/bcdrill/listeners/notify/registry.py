"""The platforms by the key a channel names in the scenario (`wecom`, `dingtalk`, ...)."""

from __future__ import annotations

from bcdrill.listeners.notify import dingtalk, feishu, webhook, wecom
from bcdrill.listeners.notify.base import Platform

PLATFORMS: dict[str, Platform] = {
    "wecom": wecom.PLATFORM,
    "dingtalk": dingtalk.PLATFORM,
    "feishu": feishu.PLATFORM,
    "webhook": webhook.PLATFORM,
}
