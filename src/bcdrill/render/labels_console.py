"""Report labels for what people do through the web console and how confirmations came in."""

from __future__ import annotations

CONSOLE_EN: dict[str, str] = {
    "via_terminal": "terminal prompt",
    "via_ack-file": "drill ack",
    "via_console": "web console",
    "via_auto": "--auto-ack",
    "via_mark-done": "marked done on resume",
    "s_not_tested": "not tested",
    "d_run_commander": "a drill commander's decision (web console)",
    "ep_commander": "commander's decision",
    "evidence_files": "Evidence files uploaded in the web console",
    "no_evidence": "No evidence files were uploaded.",
    "evidence_name": "File (as uploaded)",
    "evidence_size": "Bytes",
}

CONSOLE_ZH: dict[str, str] = {
    "via_terminal": "终端确认",
    "via_ack-file": "drill ack 命令",
    "via_console": "网页控制台",
    "via_auto": "自动确认（--auto-ack）",
    "via_mark-done": "续跑时标记完成",
    "s_not_tested": "未测试",
    "d_run_commander": "演练总指挥的决定（网页控制台）",
    "ep_commander": "总指挥决定",
    "evidence_files": "网页控制台上传的证据文件",
    "no_evidence": "未上传证据文件。",
    "evidence_name": "文件（上传时的名称）",
    "evidence_size": "字节",
}
