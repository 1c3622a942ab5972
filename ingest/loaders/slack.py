"""Slack exports: the workspace export zip, or the folder it unzips to.

An export holds `users.json`, a channel list (`channels.json`, `groups.json`, `dms.json`, `mpims.json`)
and one folder per channel of day files, `<channel>/<YYYY-MM-DD>.json`, each a list of messages. The
whole export is one Document (kind "slack"); its Sections are conversations:
- a thread (a parent and its replies, `thread_ts`, even when the replies sit in later day files) is one
  Section;
- other messages are grouped while they follow each other in one channel on one day, less than 15
  minutes apart (at most 10 messages, about 1,500 characters), so that a short reply keeps its context.
Each line reads "Author: text": user ids (`<@U…>`, the `user` field, a message's `user_profile`) become
names (real name, else display name, else user name); `<#C…|name>` becomes "#name", `<url|label>` the
label, `<!here>` "@here"; attachments and file titles are added to the text. Bots are kept and labelled
"[bot] name". Joins, leaves, topic and purpose changes and other housekeeping messages are dropped.
The locator is {"channel", "date" (the day file), "ts", "author"} of the first message, with
"title": "#channel" (the chunker puts it before the text for the embedder). Private channels and group
DMs keep their names; a direct message (its folder is its id) is named "DM <the people in it>".
A day file that is empty, not JSON or not a list of messages is skipped with a warning naming it.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.loaders.safezip import MemberError, Tree, open_tree
from ingest.loaders.spec import LoaderSpec
from rag.core.errors import LoaderError
from rag.core.types import Document, Section

CHANNEL_LISTS = ("channels.json", "groups.json", "mpims.json", "dms.json")
NOISE = frozenset({
    "channel_join", "channel_leave", "group_join", "group_leave", "channel_topic", "channel_purpose",
    "group_topic", "group_purpose", "channel_name", "group_name", "channel_archive", "channel_unarchive",
    "group_archive", "group_unarchive", "bot_add", "bot_remove", "pinned_item", "unpinned_item",
    "reminder_add", "joiner_notification", "joiner_notification_for_inviter", "tombstone",
    "message_deleted", "channel_convert_to_private", "channel_convert_to_public", "ekm_access_denied",
})
_DAY = re.compile(r"^(?P<prefix>(?:.*/)?)(?P<channel>[^/]+)/(?P<day>\d{4}-\d{2}-\d{2})\.json$")
_ANGLE = re.compile(r"<([^<>\n]+)>")
_BOT_ADDED = re.compile(r"/services/(B[A-Z0-9]+)\|([^>]+)>")
GAP_SECONDS, GROUP_MESSAGES, GROUP_CHARS = 900.0, 10, 1500


def is_export_listing(files: set[str]) -> bool:
    """Whether a folder holding these file names is the top of a Slack export."""
    return "users.json" in files and any(name in files for name in CHANNEL_LISTS)


def export_root(names: list[str]) -> str | None:
    """The prefix ("" or "folder/") under which a tree's names form a Slack export, if they do."""
    by_folder: dict[str, set[str]] = {}
    for name in names:
        prefix, _, base = name.rpartition("/")
        by_folder.setdefault(prefix + "/" if prefix else "", set()).add(base)
    roots = [p for p, files in by_folder.items() if is_export_listing(files)]
    return min(roots, key=lambda p: (p.count("/"), p)) if roots else None


@dataclass
class _People:
    names: dict[str, str] = field(default_factory=dict)
    bots: set[str] = field(default_factory=set)          # user ids of bot users
    bot_names: dict[str, str] = field(default_factory=dict)  # bot ids (B…) -> name
    channels: dict[str, str] = field(default_factory=dict)   # channel ids -> name


@dataclass(frozen=True)
class _Message:
    channel: str
    day: str
    ts: str
    thread: str       # thread_ts, "" when none
    author: str
    text: str

    @property
    def time(self) -> float:
        return float(self.ts)


def _profile_name(profile: Any) -> str:
    if not isinstance(profile, dict):
        return ""
    for key in ("real_name", "display_name", "name"):
        value = profile.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _read_json(tree: Tree, name: str, warnings: list[str], what: str) -> Any:
    """The parsed file, or None (with a warning saying what is lost) when it is empty or not JSON."""
    try:
        data = tree.read(name)
    except MemberError as exc:
        warnings.append(f"{exc} ({what})")
        return None
    if not data.strip():
        warnings.append(f"{name}: the file is empty — {what}")
        return None
    try:
        return json.loads(data.decode("utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        warnings.append(f"{name}: not valid JSON ({exc}) — {what}")
        return None


def _people(tree: Tree, root: str, names: list[str], warnings: list[str]) -> _People:
    people = _People()
    users = _read_json(tree, root + "users.json", warnings, "user ids are shown instead of names")
    for user in users if isinstance(users, list) else []:
        if isinstance(user, dict) and isinstance(user.get("id"), str):
            name = _profile_name(user) or _profile_name(user.get("profile")) or user["id"]
            people.names[user["id"]] = name
            if user.get("is_bot"):
                people.bots.add(user["id"])
    if users is not None and not isinstance(users, list):
        warnings.append(f"{root}users.json: not a list of users — user ids are shown instead of names")
    for listing in CHANNEL_LISTS:
        if root + listing not in names:
            continue
        channels = _read_json(tree, root + listing, warnings, "channel mentions show ids")
        for channel in channels if isinstance(channels, list) else []:
            if isinstance(channel, dict) and isinstance(channel.get("id"), str):
                people.channels[channel["id"]] = str(channel.get("name") or _dm_name(channel, people))
    return people


def _dm_name(channel: dict[str, Any], people: _People) -> str:
    """A direct message has no name (its folder is its id): "DM Ana Lima, Ben Sato"."""
    members = [people.names.get(str(m), str(m)) for m in channel.get("members") or []]
    return "DM " + ", ".join(members) if members else str(channel["id"])


def render(text: str, people: _People) -> str:
    """Slack's markup as people read it: mentions as names, links as their labels, entities decoded."""

    def one(match: re.Match[str]) -> str:
        target, _, label = match.group(1).partition("|")
        if target.startswith("@"):
            return "@" + (people.names.get(target[1:]) or label or target[1:])
        if target.startswith("#"):
            return "#" + (label or people.channels.get(target[1:], target[1:]))
        if target.startswith("!"):
            word = target[1:].split("^")[0]
            return label or ("@" + word if word in ("here", "channel", "everyone") else word)
        return label or target.removeprefix("mailto:")

    return html.unescape(_ANGLE.sub(one, text)).strip()


def _message_text(message: dict[str, Any], people: _People) -> str:
    parts = [render(str(message.get("text") or ""), people)]
    for attachment in message.get("attachments") or []:
        if isinstance(attachment, dict):
            found = [attachment.get(k) for k in ("pretext", "title", "text")]
            found = [f for f in found if isinstance(f, str) and f.strip()] or [attachment.get("fallback")]
            parts.extend(render(f, people) for f in found if isinstance(f, str))
    for file in message.get("files") or []:
        if isinstance(file, dict) and (file.get("title") or file.get("name")):
            parts.append(f"[file: {file.get('title') or file.get('name')}]")
    return "\n".join(p for p in parts if p)


def _author(message: dict[str, Any], people: _People) -> str:
    bot_id = message.get("bot_id")
    user = message.get("user") or (message.get("comment") or {}).get("user") or ""
    if message.get("subtype") == "bot_message" or (bot_id and not user):
        name = (message.get("username") or _profile_name(message.get("bot_profile"))
                or people.bot_names.get(str(bot_id)) or people.names.get(user) or bot_id or "bot")
        return f"[bot] {name}"
    name = people.names.get(user) or _profile_name(message.get("user_profile")) or user or "unknown"
    return f"[bot] {name}" if user in people.bots else name


def _day_messages(tree: Tree, name: str, warnings: list[str]) -> list[dict[str, Any]]:
    data = _read_json(tree, name, warnings, "skipped")
    if data is None:
        return []
    if not isinstance(data, list):
        warnings.append(f"{name}: not a list of messages — skipped")
        return []
    if not data:
        warnings.append(f"{name}: holds no messages — skipped")
    return [m for m in data if isinstance(m, dict) and isinstance(m.get("ts"), (str, int, float))]


def _messages(tree: Tree, root: str, names: list[str], people: _People,
              warnings: list[str]) -> list[_Message]:
    days = [(d.group("channel"), d.group("day"), n) for n in names
            if (d := _DAY.match(n)) and d.group("prefix") == root]
    raw = [(channel, day, m) for channel, day, name in sorted(days) for m in _day_messages(tree, name, warnings)]
    for _, _, m in raw:   # first pass: names that only messages know
        uid = m.get("user")
        if isinstance(uid, str) and uid not in people.names and _profile_name(m.get("user_profile")):
            people.names[uid] = _profile_name(m.get("user_profile"))
        if m.get("subtype") == "bot_add":
            people.bot_names.update(_BOT_ADDED.findall(str(m.get("text") or "")))
    found: list[_Message] = []
    for channel, day, m in raw:
        if m.get("subtype") in NOISE or m.get("hidden"):
            continue
        text = _message_text(m, people)
        if text:
            thread = str(m.get("thread_ts") or "")
            found.append(_Message(people.channels.get(channel, channel), day, str(m["ts"]), thread,
                                  _author(m, people), text))
    return found


def _conversations(messages: list[_Message]) -> list[list[_Message]]:
    """Threads whole, other messages in short runs; in order of each conversation's first message."""
    threads: dict[tuple[str, str], list[_Message]] = {}
    for m in messages:
        if m.thread:
            threads.setdefault((m.channel, m.thread), []).append(m)
    units: list[list[_Message]] = []
    run: list[_Message] = []
    done: set[tuple[str, str]] = set()
    for m in sorted(messages, key=lambda m: (m.channel, m.time)):
        key = (m.channel, m.thread)
        if m.thread and len(threads[key]) > 1:
            if key not in done:
                done.add(key)
                units.append(sorted(threads[key], key=lambda t: t.time))
            run = []
            continue
        if run and (run[-1].channel, run[-1].day) == (m.channel, m.day) and m.time - run[-1].time <= GAP_SECONDS \
                and len(run) < GROUP_MESSAGES and sum(len(r.text) for r in run) < GROUP_CHARS:
            run.append(m)
            continue
        run = [m]
        units.append(run)
    return units


def _section(unit: list[_Message]) -> Section:
    first = unit[0]
    text = "\n".join(f"{m.author}: {m.text}" for m in unit)
    return Section(text, {"channel": first.channel, "date": first.day, "ts": first.ts, "author": first.author,
                          "title": f"#{first.channel}"})


def slack_document(tree: Tree, source: str, doc_id: str) -> Document:
    """The Document for a Slack export read from `tree` (an archive or a folder)."""
    names = tree.names()
    root = export_root(names)
    if root is None:
        raise LoaderError(f"{source}: not a Slack export (no users.json beside channels.json) — export the "
                          "workspace again from Slack's admin page")
    warnings: list[str] = []
    people = _people(tree, root, names, warnings)
    messages = _messages(tree, root, names, people, warnings)
    units = _conversations(messages)
    if not units:
        detail = f" ({'; '.join(warnings[:3])})" if warnings else ""
        raise LoaderError(f"{source}: the Slack export holds no messages{detail} — export the workspace again, "
                          "for a date range that has messages")
    channels = sorted({m.channel for m in messages})
    shown = ", ".join(f"#{c}" for c in channels[:5]) + (", …" if len(channels) > 5 else "")
    return Document(
        doc_id=doc_id, source=source, kind="slack", title=f"Slack export ({shown})",
        sections=tuple(_section(u) for u in units),
        meta={"channels": len(channels), "users": len(people.names), "messages": len(messages),
              "threads": sum(1 for u in units if u[0].thread and len(u) > 1),
              "warnings": warnings + tree.warnings},
    )


def load_slack(path: Path, source: str, doc_id: str) -> Document:
    """A Slack export: the zip Slack gives, or the folder it unzips to."""
    with open_tree(path, source) as tree:
        return slack_document(tree, source, doc_id)


LOADERS: dict[str, LoaderSpec] = {"slack/": LoaderSpec("slack", "slack", load_slack)}
