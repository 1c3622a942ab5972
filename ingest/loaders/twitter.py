"""Twitter/X archives: the zip of "Download an archive of your data", or the folder it unzips to.

The archive holds `data/account.js` (the handle), `data/tweets.js` (with `tweets-part1.js`, … for a big
account; `tweet.js` in older archives), `data/note-tweet.js` (long posts) and `data/direct-messages.js`,
each read as JSON by ytd.py, never run. The whole archive is one Document (kind "twitter"); its
Sections are threads:
- a reply to one of the account's own tweets joins that tweet's thread, so a thread is one Section
  (oldest first); every other tweet is a Section of its own, in date order;
- t.co links become the addresses they stand for (`entities.urls[].expanded_url`), media links
  "[photo]"; HTML entities are decoded;
- a long post's text comes from note-tweet.js, replacing the cut-off `full_text` (matched by its opening
  words, the nearest in time); a retweet is labelled "Retweet of @x: …", a reply to someone else
  "Reply to @x: …".
The locator is {"tweet_id", "date" (UTC, of the first tweet), "author" (the handle), "title": "@handle"},
shown as "@handle, 2021-03-04". Direct messages are left out (a warning says how many conversations)
unless the archive is read with `--include-dms`: then each conversation's messages, a day at a time,
are Sections with {"dm", "message_id", "date", "author"}.
A data file that is cut short, not JSON, of the wrong shape or over ytd.MAX_BYTES fails with its name
and the fix; a broken extra part or note file only costs what it holds (a warning names it).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingest.loaders import ytd
from ingest.loaders.safezip import Archive, Folder, open_tree
from ingest.loaders.spec import LoaderSpec
from rag.core.errors import LoaderError
from rag.core.types import Document, Section

_RETWEET = re.compile(r"^RT @(\w+): ")
_LINK = re.compile(r"https?://\S+")
_MENTIONS = re.compile(r"^(?:@\w+\s+)+")   # the handles a reply starts with
DM_CHARS = 1500


def is_export_folder(folder: Path) -> bool:
    """Whether `folder` is the top of an unzipped Twitter archive (data/account.js beside data/tweets.js)."""
    data = folder / "data"
    return (data / "account.js").is_file() and any((data / n).is_file() for n in ("tweets.js", "tweet.js"))


def export_root(names: list[str]) -> str | None:
    """The prefix ("" or "folder/") under which a tree's names form a Twitter archive, if they do."""
    found = set(names)
    roots = [n.removesuffix("data/account.js") for n in names if n.endswith("data/account.js")
             and n.count("/") <= 2 and (n.removesuffix("account.js") + "tweets.js" in found
                                        or n.removesuffix("account.js") + "tweet.js" in found)]
    return min(roots, key=lambda p: (p.count("/"), p)) if roots else None


@dataclass(frozen=True)
class Tweet:
    id: str
    created: datetime
    text: str
    parent: str = ""        # in_reply_to_status_id_str
    reply_to: str = ""      # in_reply_to_screen_name
    retweet_of: str = ""


def parse_time(value: Any) -> datetime | None:
    """"Wed Mar 03 10:00:00 +0000 2021" (tweets) or "2021-03-03T10:00:00.000Z" (notes, messages)."""
    if not isinstance(value, str):
        return None
    for form in ("%a %b %d %H:%M:%S %z %Y", "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(value.replace("Z", "+0000"), form).astimezone(UTC)
        except ValueError:
            continue
    return None


def expand_links(text: str, urls: Any, media: Any = None) -> str:
    """t.co links replaced by what they stand for; media links by "[photo]" (or "[video]")."""
    for url in urls if isinstance(urls, list) else []:
        short = ytd.dig(url, "url") or ytd.dig(url, "shortUrl")
        full = ytd.dig(url, "expanded_url") or ytd.dig(url, "expandedUrl") or ytd.dig(url, "expanded")
        if isinstance(short, str) and short and isinstance(full, str) and full:
            text = text.replace(short, full)
    for item in media if isinstance(media, list) else []:
        short = ytd.dig(item, "url")
        if isinstance(short, str) and short:
            text = text.replace(short, f"[{str(ytd.dig(item, 'type') or 'photo').replace('animated_gif', 'gif')}]")
    return html.unescape(text).strip()


def _tweet(item: Any) -> Tweet | None:
    raw = ytd.dig(item, "tweet")
    if not isinstance(raw, dict):
        raw = item if isinstance(item, dict) and "full_text" in item else None   # very old archives
    if raw is None:
        return None
    tid, text, created = raw.get("id_str") or raw.get("id"), raw.get("full_text") or raw.get("text"), \
        parse_time(raw.get("created_at"))
    if not isinstance(tid, (str, int)) or not isinstance(text, str) or created is None:
        return None
    text = expand_links(text, ytd.dig(raw, "entities", "urls"), ytd.dig(raw, "entities", "media"))
    retweet = _RETWEET.match(text)
    return Tweet(str(tid), created, text, str(raw.get("in_reply_to_status_id_str") or ""),
                 str(raw.get("in_reply_to_screen_name") or ""), retweet.group(1) if retweet else "")


def _opening(text: str) -> str:
    return " ".join(_LINK.sub(" ", text).split()).rstrip("…. ")


def _with_notes(tweets: list[Tweet], notes: list[Any]) -> tuple[list[Tweet], int]:
    """Long posts' full text in place of their cut-off tweet; (tweets, notes used)."""
    by_id = {t.id: t for t in tweets}
    by_opening: dict[str, list[tuple[str, Tweet]]] = {}
    for t in tweets:
        if len(opening := _opening(t.text)) >= 10:
            by_opening.setdefault(opening[:10], []).append((opening, t))
    used = 0
    for item in notes:
        core = ytd.dig(item, "noteTweet", "core")
        text, created = ytd.dig(core, "text"), parse_time(ytd.dig(item, "noteTweet", "createdAt"))
        if not isinstance(text, str) or not text.strip():
            continue
        full = expand_links(text, ytd.dig(core, "urls"))
        opening = _opening(full)
        fits = [t for start, t in by_opening.get(opening[:10], []) if opening.startswith(start)]
        if fits:
            best = min(fits, key=lambda t: abs((t.created - created).total_seconds()) if created else 0)
            by_id[best.id] = replace(best, text=full)
            used += 1
    return [by_id[t.id] for t in tweets], used


def threads(tweets: list[Tweet]) -> list[list[Tweet]]:
    """Replies to the account's own tweets grouped under the first tweet of their thread; by date."""
    by_id = {t.id: t for t in tweets}

    def top(tweet: Tweet) -> str:
        seen = {tweet.id}
        while tweet.parent in by_id and tweet.parent not in seen:
            tweet = by_id[tweet.parent]
            seen.add(tweet.id)
        return tweet.id

    groups: dict[str, list[Tweet]] = {}
    for tweet in tweets:
        groups.setdefault(top(tweet), []).append(tweet)
    units = [sorted(g, key=lambda t: (t.created, t.id)) for g in groups.values()]
    return sorted(units, key=lambda u: (u[0].created, u[0].id))


def _labelled(tweet: Tweet, own: set[str]) -> str:
    if tweet.retweet_of:
        return _RETWEET.sub(f"Retweet of @{tweet.retweet_of}: ", tweet.text, count=1)
    if tweet.reply_to and tweet.parent not in own:
        return f"Reply to @{tweet.reply_to}: {_MENTIONS.sub('', tweet.text) or tweet.text}"
    return tweet.text


def _section(unit: list[Tweet], own: set[str], handle: str) -> Section:
    first = unit[0]
    return Section("\n\n".join(_labelled(t, own) for t in unit),
                   {"tweet_id": first.id, "date": first.created.date().isoformat(), "author": handle,
                    "title": f"@{handle}"})


def _account(tree: Archive | Folder, root: str, source: str, warnings: list[str]) -> tuple[str, str]:
    """(handle, account id) from data/account.js; ("unknown", "") with a warning when it cannot be read."""
    try:
        items = ytd.read_part(tree, root + "data/account.js", source)
    except LoaderError as exc:
        warnings.append(f"{exc} (the handle is shown as @unknown)")
        return "unknown", ""
    account = ytd.dig(items[0] if items else None, "account")
    handle = ytd.dig(account, "username")
    if not isinstance(handle, str) or not handle:
        warnings.append(f"{root}data/account.js: holds no account username — the handle is shown as @unknown")
        return "unknown", ""
    return handle, str(ytd.dig(account, "accountId") or "")


def _items(tree: Archive | Folder, names: list[str], source: str, max_bytes: int,
           problems: list[str]) -> list[Any]:
    items: list[Any] = []
    for name in names:
        try:
            items.extend(ytd.read_part(tree, name, source, max_bytes))
        except LoaderError as exc:
            problems.append(str(exc))
    return items


def _dm_sections(items: list[Any], handle: str, account_id: str) -> list[Section]:
    """Each conversation's messages, a day at a time (at most DM_CHARS characters a Section)."""
    sections: list[Section] = []
    for item in items:
        conversation = ytd.dig(item, "dmConversation")
        messages = [ytd.dig(m, "messageCreate") for m in ytd.dig(conversation, "messages") or []]
        found = [(when, m) for m in messages if isinstance(m, dict) and isinstance(m.get("text"), str)
                 and (when := parse_time(m.get("createdAt")))]
        run: list[str] = []
        head: dict[str, Any] = {}
        for when, m in sorted(found, key=lambda f: f[0]):
            sender = f"@{handle}" if str(m.get("senderId")) == account_id else f"user {m.get('senderId')}"
            line = f"{sender}: {expand_links(m['text'], m.get('urls'))}"
            if run and (head["date"] != when.date().isoformat() or sum(map(len, run)) + len(line) > DM_CHARS):
                sections.append(Section("\n".join(run), head))
                run = []
            if not run:
                cid = str(ytd.dig(conversation, "conversationId") or "")
                head = {"dm": cid, "message_id": str(m.get("id") or ""), "date": when.date().isoformat(),
                        "author": sender, "title": f"DM {cid}"}
            run.append(line)
        if run:
            sections.append(Section("\n".join(run), head))
    return sections


def twitter_document(tree: Archive | Folder, source: str, doc_id: str, include_dms: bool = False,
                     max_bytes: int = ytd.MAX_BYTES) -> Document:
    """The Document for a Twitter/X archive read from `tree` (a zip or a folder)."""
    names = tree.names()
    root = export_root(names)
    if root is None:
        raise LoaderError(f"{source}: not a Twitter archive (no data/account.js beside data/tweets.js) — "
                          f"{ytd.REFETCH}")
    warnings: list[str] = []
    handle, account_id = _account(tree, root, source, warnings)
    problems: list[str] = []
    items = _items(tree, ytd.part_names(names, root, "tweets", "tweet"), source, max_bytes, problems)
    parsed = [_tweet(item) for item in items]
    tweets = [t for t in parsed if t is not None]
    if not tweets:
        shape = f"none of its {len(items)} items is a tweet ({{\"tweet\": {{\"id_str\", \"full_text\", " \
                f"\"created_at\"}}}})" if items else "it holds no tweets"
        raise LoaderError(problems[0] if problems else f"{source}: {root}data/tweets.js: {shape} — {ytd.REFETCH}")
    if len(tweets) < len(items):
        warnings.append(f"{len(items) - len(tweets)} items of the tweet files are not tweets — skipped")
    notes = _items(tree, ytd.part_names(names, root, "note-tweet"), source, max_bytes, problems)
    tweets, used = _with_notes(tweets, notes)
    own = {t.id for t in tweets}
    units = threads(tweets)
    sections = [_section(u, own, handle) for u in units]
    dm_names = ytd.part_names(names, root, "direct-messages", "direct-messages-group")
    dm_items = _items(tree, dm_names, source, max_bytes, problems) if include_dms else []
    if include_dms:
        sections += _dm_sections(dm_items, handle, account_id)
    elif dm_names:
        warnings.append("direct messages left out — ingest with --include-dms to add them")
    return Document(
        doc_id=doc_id, source=source, kind="twitter", title=f"Twitter archive of @{handle}",
        sections=tuple(sections),
        meta={"tweets": len(tweets), "threads": sum(len(u) > 1 for u in units), "notes": used,
              "retweets": sum(bool(t.retweet_of) for t in tweets), "dm_conversations": len(dm_items),
              "warnings": warnings + problems + tree.warnings})


def load_twitter(path: Path, source: str, doc_id: str) -> Document:
    """A Twitter/X archive (the zip or its folder), direct messages left out."""
    with open_tree(path, source) as tree:
        return twitter_document(tree, source, doc_id)


def load_twitter_with_dms(path: Path, source: str, doc_id: str) -> Document:
    """A Twitter/X archive with its direct messages (`--include-dms`)."""
    with open_tree(path, source) as tree:
        return twitter_document(tree, source, doc_id, include_dms=True)


LOADERS: dict[str, LoaderSpec] = {"twitter/": LoaderSpec("twitter", "twitter", load_twitter)}
WITH_DMS: dict[str, LoaderSpec] = {"twitter/": LoaderSpec("twitter+dms", "twitter", load_twitter_with_dms)}
