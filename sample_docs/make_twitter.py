"""Regenerate the sample Twitter/X archive (standard library only).

    python sample_docs/make_twitter.py          # writes sample_docs/twitter_archive.zip

The zip has the shape of X's "Download an archive of your data": `Your archive.html` and `data/` with
`manifest.js`, `account.js`, `tweets.js`, `note-tweet.js` and `direct-messages.js`, each a
`window.YTD.<name>.part0 = [...]` assignment. Every entry has a fixed timestamp and mode, so running it
again changes no byte. The facts the tests assert are listed in sample_docs/README.md.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
STAMP = (2026, 1, 1, 0, 0, 0)
ME, MY_ID = "brackwater_stn", "1500000000000000001"

ACCOUNT = [{"account": {"email": "station@example.org", "createdVia": "web", "username": ME,
                        "accountId": MY_ID, "createdAt": "2019-06-01T08:00:00.000Z",
                        "accountDisplayName": "Brackwater Field Station"}}]


def tweet(tid: str, when: str, text: str, urls: tuple[tuple[str, str], ...] = (), reply: tuple[str, str] = ("", ""),
          media: str = "") -> dict[str, Any]:
    """One item of tweets.js as the archive writes it (the fields the loader reads, and some it does not)."""
    body: dict[str, Any] = {
        "edit_info": {"initial": {"editTweetIds": [tid], "editableUntil": when, "editsRemaining": "5",
                                  "isEditEligible": True}},
        "retweeted": False, "source": "<a href=\"https://mobile.twitter.com\" rel=\"nofollow\">Twitter Web App</a>",
        "entities": {"hashtags": [], "symbols": [], "user_mentions": [],
                     "urls": [{"url": short, "expanded_url": full, "display_url": full.split("//")[1][:26] + "…",
                               "indices": ["0", "23"]} for short, full in urls]},
        "display_text_range": ["0", str(len(text))], "favorite_count": "3", "id_str": tid, "truncated": False,
        "retweet_count": "1", "id": tid, "created_at": when, "favorited": False, "full_text": text, "lang": "en",
    }
    if reply[0]:
        body.update({"in_reply_to_status_id_str": reply[0], "in_reply_to_status_id": reply[0],
                     "in_reply_to_screen_name": reply[1],
                     "in_reply_to_user_id_str": MY_ID if reply[1] == ME else "2700000000000000003"})
    if media:
        body["entities"]["media"] = [{"url": media, "expanded_url": "https://x.com/brackwater_stn/status/1/photo/1",
                                      "display_url": "pic.x.com/fog0001", "type": "photo"}]
    return {"tweet": body}


TWEETS = [
    tweet("1367400000000000001", "Thu Mar 04 10:00:00 +0000 2021",
          "The spring seal census is done: we counted 214 harbour seals on the north sandbank. Full report: "
          "https://t.co/sealrep01", urls=(("https://t.co/sealrep01",
                                           "https://brackwater.example.org/reports/seal-census-2021"),)),
    tweet("1380800000000000002", "Sat Apr 10 09:00:00 +0000 2021", "How our tide gauge works, a thread 🧵"),
    tweet("1380800000000000003", "Sat Apr 10 09:02:00 +0000 2021",
          "The float rides in a stilling well 3 metres deep, which damps the waves &amp; the wakes of boats.",
          reply=("1380800000000000002", ME)),
    tweet("1380800000000000004", "Sat Apr 10 09:05:00 +0000 2021",
          "Its copper float has not been replaced since 1987.", reply=("1380800000000000003", ME)),
    tweet("1388500000000000005", "Sat May 01 12:00:00 +0000 2021",
          "RT @coastwatch: Volunteers wanted for the beach clean at Gullhaven on 22 May. Bring gloves!"),
    tweet("1388800000000000006", "Sun May 02 08:30:00 +0000 2021",
          "@coastwatch We will send four people and the station's van.",
          reply=("1388700000000000099", "coastwatch")),
    tweet("1592500000000000007", "Tue Nov 15 16:00:00 +0000 2022",
          "Our open day is back! Doors open at 10:00 on Saturday 3 December. Tour the wet lab, meet the seal "
          "team and try the research boat simulator. We will also show the new kelp time-lapse… "
          "https://t.co/note00001"),
    tweet("1610000000000000008", "Tue Jan 03 07:45:00 +0000 2023", "Fog over the lagoon this morning "
          "https://t.co/fog000001", media="https://t.co/fog000001"),
]

NOTES = [{"noteTweet": {"noteTweetId": "1592500000000000900", "updatedAt": "2022-11-15T16:00:00.000Z",
                        "createdAt": "2022-11-15T16:00:00.000Z",
                        "core": {"styletags": [], "urls": [], "mentions": [], "cashtags": [], "hashtags": [],
                                 "text": "Our open day is back! Doors open at 10:00 on Saturday 3 December. Tour the "
                                         "wet lab, meet the seal team and try the research boat simulator. We will "
                                         "also show the new kelp time-lapse, filmed over 14 months off the south "
                                         "jetty, and the volunteers will serve fish soup until 15:00."}}}]

DMS = [{"dmConversation": {"conversationId": f"{MY_ID}-2600000000000000002", "messages": [
    {"messageCreate": {"recipientId": MY_ID, "reactions": [], "urls": [], "mediaUrls": [],
                       "text": "Where do you keep the key to the boat shed?", "senderId": "2600000000000000002",
                       "id": "1600000000000000101", "createdAt": "2022-12-01T09:00:00.000Z"}},
    {"messageCreate": {"recipientId": "2600000000000000002", "reactions": [], "urls": [], "mediaUrls": [],
                       "text": "The boat shed key hangs behind the tide table in the radio room.",
                       "senderId": MY_ID, "id": "1600000000000000102", "createdAt": "2022-12-01T09:04:00.000Z"}},
]}}]


def data_file(name: str, items: list[Any]) -> bytes:
    return f"window.YTD.{name}.part0 = {json.dumps(items, indent=2, ensure_ascii=False)}".encode()


def archive_members() -> list[tuple[str, bytes]]:
    manifest = {"userInfo": {"accountId": MY_ID, "userName": ME, "displayName": "Brackwater Field Station"},
                "archiveInfo": {"sizeBytes": "0", "generationDate": "2026-01-01T00:00:00.000Z"}}
    return [
        ("Your archive.html", b"<!DOCTYPE html><title>Your archive</title><p>Open this file to browse.</p>\n"),
        ("data/manifest.js", f"window.__THAR_CONFIG = {json.dumps(manifest, indent=2)}".encode()),
        ("data/account.js", data_file("account", ACCOUNT)),
        ("data/tweets.js", data_file("tweets", TWEETS)),
        ("data/note-tweet.js", data_file("note_tweet", NOTES)),
        ("data/direct-messages.js", data_file("direct_messages", DMS)),
    ]


def zip_bytes(members: list[tuple[str, bytes]]) -> bytes:
    """A zip of these members in this order, with fixed timestamps and modes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=STAMP)
            info.create_system, info.external_attr = 3, 0o100644 << 16
            zf.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return buffer.getvalue()


def main(folder: Path = HERE) -> None:
    (folder / "twitter_archive.zip").write_bytes(zip_bytes(archive_members()))
    print(f"wrote {folder / 'twitter_archive.zip'}")


if __name__ == "__main__":
    main()
