"""The client's own messages in English and Chinese.  It cannot import the server's catalogue
(core/locale needs Babel and the server's packages), so it carries this small one;
tests/client/test_client.py checks that every message the client says has its translation."""

from __future__ import annotations

import os

LANGUAGES = ("zh", "en")

ZH = {
    "cannot read {path}: {why}": "无法读取 {path}：{why}",
    "not accepted ({status}): {why}": "未被接受（{status}）：{why}",
    "submitted {file} to {assignment} as #{id}": "已将 {file} 提交到 {assignment}，编号 #{id}",
    "cannot reach {server}: {why}": "无法连接 {server}：{why}",
    "progress stream interrupted ({why}); waiting for the result": "进度流中断（{why}）；正在等待结果",
    "queued, waiting for a worker": "已排队，等待评分进程",
    "grading again (attempt {attempt})": "重新评分（第 {attempt} 次）",
    "grading": "正在评分",
    "a hidden check finished": "一项隐藏检查已完成",
    "done: {status}": "完成：{status}",
    "still {status}; look again later: torchgrade's API at /api/v1/submissions/{id}":
        "仍在{status}；请稍后再查看：torchgrade API 的 /api/v1/submissions/{id}",
    "{days} day(s) late: {penalty:.0%} off, {points:g} points count": "迟交 {days} 天：扣 {penalty:.0%}，计 {points:g} 分",
    "give your token with --token or TORCHGRADE_TOKEN": "请用 --token 或 TORCHGRADE_TOKEN 提供你的令牌",
    "status: {status}": "状态：{status}",
    "score: {score:g} / {max_score:g}": "得分：{score:g} / {max_score:g}",
    "{points:g} points await an instructor's score of your written answers":
        "书面回答的 {points:g} 分等待教师评分",
}

# A submission's status as the web pages name it (web/templates/_macros.html), English and Chinese.
STATUS = {
    "queued": ("queued", "排队中"),
    "running": ("grading", "评分中"),
    "graded": ("graded", "已评分"),
    "error": ("error in the code", "代码出错"),
    "timeout": ("ran out of time", "超时"),
    "memory": ("ran out of memory", "内存不足"),
    "crashed": ("crashed", "崩溃"),
    "internal_error": ("grader fault (not yours)", "评分系统故障（不是你的问题）"),
}


def status_label(status: str, language: str = "en") -> str:
    """A submission's ``status`` in words of ``language`` (as it is, for a status this client predates)."""
    english, chinese = STATUS.get(status, (status, status))
    return chinese if language == "zh" else english


def say(message: str, language: str = "en", **values) -> str:
    """``message`` in ``language`` (English when it has no translation), with ``values``."""
    text = ZH.get(message, message) if language == "zh" else message
    return text.format(**values)


def default_language() -> str:
    """zh when the environment's locale is Chinese, else en (``--lang`` overrides)."""
    for variable in ("TORCHGRADE_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(variable, "")
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"
