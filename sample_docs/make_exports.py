"""Regenerate the sample exports and archive (standard library only).

    python sample_docs/make_exports.py          # writes into sample_docs/

- `slack_export.zip`: a small Slack workspace export (users.json, channels.json, day files);
- `notion_export.zip`: a Notion "Markdown & CSV" export in the shape of a big one: the outer zip holds
  two `Export-<uuid>-Part-N.zip` parts, whose files carry Notion's 32-hex ids;
- `bundle.zip`: an archive of documents: a text file, a nested zip holding a Markdown file, and a
  file of a type no loader reads.
Every zip entry has a fixed timestamp and mode, so running it again changes no byte. The facts the
tests assert are listed in sample_docs/README.md.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
STAMP = (2026, 1, 1, 0, 0, 0)

USERS = [
    {"id": "U01ANA", "name": "ana", "real_name": "Ana Lima", "is_bot": False,
     "profile": {"real_name": "Ana Lima", "display_name": "ana"}},
    {"id": "U02BEN", "name": "ben", "real_name": "Ben Sato", "is_bot": False,
     "profile": {"real_name": "Ben Sato", "display_name": "ben"}},
    {"id": "U03BOT", "name": "launchbot", "real_name": "Launchbot", "is_bot": True,
     "profile": {"real_name": "Launchbot", "display_name": "", "bot_id": "B01LAUNCH"}},
]
CHANNELS = [
    {"id": "C01GENERAL", "name": "general", "created": 1767225600, "creator": "U01ANA", "is_general": True,
     "members": ["U01ANA", "U02BEN", "U03BOT"], "purpose": {"value": "Station-wide news"}},
    {"id": "C02LAUNCH", "name": "launch", "created": 1767225600, "creator": "U02BEN", "is_general": False,
     "members": ["U01ANA", "U02BEN", "U03BOT"], "topic": {"value": "Launch preparation"}},
]
GUEST_PROFILE = {"real_name": "Dana Reyes", "display_name": "dana", "name": "dana"}


def ts(day: int, hour: int, minute: int) -> str:
    """A Slack timestamp for February `day`, 2026, at hour:minute UTC."""
    return f"{datetime(2026, 2, day, hour, minute, tzinfo=UTC).timestamp():.0f}.000100"


THREAD = ts(10, 10, 0)
SLACK_DAYS: dict[str, list[dict[str, object]]] = {
    "general/2026-02-09.json": [
        {"type": "message", "subtype": "channel_join", "user": "U01ANA", "ts": ts(9, 8, 0),
         "text": "<@U01ANA> has joined the channel"},
        {"type": "message", "subtype": "channel_join", "user": "U02BEN", "ts": ts(9, 8, 1),
         "text": "<@U02BEN> has joined the channel"},
        {"type": "message", "subtype": "channel_purpose", "user": "U01ANA", "ts": ts(9, 8, 2),
         "text": "<@U01ANA> set the channel purpose: Station-wide news", "purpose": "Station-wide news"},
    ],
    "general/2026-02-10.json": [
        {"type": "message", "user": "U01ANA", "ts": ts(10, 9, 0),
         "text": "Heads-up: the launch moves to March 3 &amp; the sensor firmware gets one more week of testing."},
        {"type": "message", "user": "U02BEN", "ts": ts(10, 9, 4),
         "text": "Thanks <@U01ANA>! I'll tell the field crew in <#C02LAUNCH|launch>."},
        {"type": "message", "user": "U04DANA", "ts": ts(10, 11, 0), "user_profile": GUEST_PROFILE,
         "text": "The visitor centre stays closed on launch day; guided tours resume on March 5."},
    ],
    "general/2026-02-11.json": [
        {"type": "message", "user": "U02BEN", "ts": ts(11, 8, 30),
         "text": "From now on the harbour cafe closes at 15:00 on Fridays."},
    ],
    "launch/2026-02-10.json": [
        {"type": "message", "subtype": "channel_join", "user": "U01ANA", "ts": ts(10, 9, 50),
         "text": "<@U01ANA> has joined the channel"},
        {"type": "message", "subtype": "channel_topic", "user": "U02BEN", "ts": ts(10, 9, 51),
         "text": "<@U02BEN> set the channel topic: Launch preparation", "topic": "Launch preparation"},
        {"type": "message", "user": "U02BEN", "ts": THREAD, "thread_ts": THREAD, "reply_count": 2,
         "text": "Which beta sites go first?"},
        {"type": "message", "user": "U01ANA", "ts": ts(10, 10, 5), "thread_ts": THREAD, "parent_user_id": "U02BEN",
         "text": "Saltmarsh and Eelgrass Point first; the other four sites follow a week later."},
        {"type": "message", "subtype": "bot_message", "bot_id": "B01LAUNCH", "username": "Launchbot",
         "ts": ts(10, 10, 30), "text": "",
         "attachments": [{"pretext": "Nightly firmware build", "fallback": "Build 412 passed",
                          "text": "Build 412 passed all 86 checks. <https://ci.example.com/b/412|Open build 412>"}]},
    ],
    "launch/2026-02-11.json": [
        {"type": "message", "user": "U02BEN", "ts": ts(11, 8, 0), "thread_ts": THREAD, "parent_user_id": "U02BEN",
         "text": "Agreed with <@U01ANA>: Saltmarsh and Eelgrass Point go first."},
        {"type": "message", "user": "U01ANA", "ts": ts(11, 9, 0),
         "text": "Reminder <!here>: the press embargo lifts at 09:00 CET on launch day. "
                 "See the <https://example.com/press|press kit>."},
        {"type": "message", "user": "U03BOT", "bot_id": "B01LAUNCH", "ts": ts(11, 9, 30),
         "text": "Countdown: 20 days to launch."},
    ],
}

ID = {  # Notion ids: 32 hex digits after each title
    "projects": "8a1b2c3d4e5f60718293a4b5c6d7e8f9",
    "api": "1f2e3d4c5b6a79881726354453627180",
    "tasks": "c0ffee00c0ffee00c0ffee00c0ffee01",
    "migrate": "d1d2d3d4d5d6d7d8d9dadbdcdddedfe0",
    "handbook": "0a0b0c0d0e0f10111213141516171819",
}
EXPORT = "Export-6b1c2d3e-4f50-4a61-9b72-83c4d5e6f708"
PROJECTS_MD = f"""# Projects

Everything the launch team is working on.

- [API Integration](Projects%20{ID["projects"]}/API%20Integration%20{ID["api"]}.md)
- [Tasks](Projects%20{ID["projects"]}/Tasks%20{ID["tasks"]}.csv)
"""
API_MD = f"""# API Integration

Status: In progress
Owner: Ana Lima
Due: 2026-02-27

## Goal

Connect the buoy network to the public data portal through the partner's REST API.

![diagram](API%20Integration/diagram.png)

## Decisions

- The portal receives new buoy readings every 10 minutes.
- Requests are signed with per-station keys.

The work items are in [Tasks](Tasks%20{ID["tasks"]}.csv).
"""
TASKS_CSV = "Name,Status\nWrite the API client,In progress\nLoad test the gateway,Not started\n" \
            "Migrate the sensor archive,Done\n"
API_LINK = f"API Integration (../Projects%20{ID['projects']}/API%20Integration%20{ID['api']}.md)"
TASKS_ALL_CSV = ("\ufeffName,Status,Owner,Due,Project\n"
                 f"Write the API client,In progress,Ben Sato,2026-02-20,{API_LINK}\n"
                 f"Load test the gateway,Not started,Chen Wei,2026-03-01,{API_LINK}\n"
                 "Migrate the sensor archive,Done,Ana Lima,2026-01-30,\n")
MIGRATE_MD = """# Migrate the sensor archive

Status: Done
Owner: Ana Lima

The move took four nights: 38 years of tide readings now live in the new archive.
"""
HANDBOOK_MD = """# Team Handbook

Owner: Ben Sato

## Arrival

New staff collect their keys and a handheld radio from the front office on their first morning. The
office is on the ground floor of the white building next to the slipway, and it opens at 07:30. Bring
a photo for the badge; the badge also opens the workshop and the sample store. Your first week is
spent shadowing a colleague on the morning rounds, so bring boots that can stand salt water.

## Safety

Nobody goes onto the mudflats alone, and everyone checks the tide table before leaving the building.
Life jackets hang by the boathouse door and are worn on every boat trip, however short the trip is.
Tell the front office where you are going and when you expect to be back; if you are more than an hour
late, they start calling. The first-aid kits are in the workshop, in the boathouse and in each boat.
Report every incident, even one where nobody was hurt, on the form pinned beside the kettle.

## On-call

During launch week the on-call engineer answers the phone at +47 555 0142, day and night. Call them
for anything that stops data from flowing, before you try to fix it yourself. Outside launch week,
problems wait for the next working day unless a buoy has broken loose, which is always urgent. Keep
notes of what you saw and what you did; the engineer will ask for them the next morning.

## Leaving

Hand back your keys, radio and badge at the front office on your last day. Copy your field notes to
the shared archive before you go, and name someone to look after each dataset you leave behind.
"""


def zip_bytes(members: list[tuple[str, bytes]]) -> bytes:
    """A zip of these members in this order, with fixed timestamps and modes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=STAMP)
            info.create_system, info.external_attr = 3, 0o100644 << 16
            zf.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return buffer.getvalue()


def slack_export() -> bytes:
    members = [("users.json", USERS), ("channels.json", CHANNELS), *SLACK_DAYS.items()]
    return zip_bytes([(name, json.dumps(data, indent=2).encode()) for name, data in members])


def notion_export() -> bytes:
    projects = f"Projects {ID['projects']}"
    part1 = zip_bytes([
        (f"{projects}.md", PROJECTS_MD.encode()),
        (f"{projects}/API Integration {ID['api']}.md", API_MD.encode()),
        (f"{projects}/API Integration/diagram.png", b"\x89PNG\r\n\x1a\nnot really an image"),
    ])
    part2 = zip_bytes([
        (f"{projects}/Tasks {ID['tasks']}.csv", TASKS_CSV.encode()),
        (f"{projects}/Tasks {ID['tasks']}_all.csv", TASKS_ALL_CSV.encode()),
        (f"{projects}/Tasks/Migrate the sensor archive {ID['migrate']}.md", MIGRATE_MD.encode()),
        (f"Team Handbook {ID['handbook']}.md", HANDBOOK_MD.encode()),
    ])
    return zip_bytes([(f"{EXPORT}-Part-1.zip", part1), (f"{EXPORT}-Part-2.zip", part2)])


def bundle() -> bytes:
    older = zip_bytes([("minutes/generator.md",
                        b"# Generator log\n\nThe backup generator burns 3 litres of diesel per hour at full load.\n")])
    return zip_bytes([
        ("checklists/radio.txt", b"The radio check-in with the mainland is at 18:00 every day on VHF channel 16.\n"),
        ("data/readings.bin", bytes(range(256))),
        ("older.zip", older),
    ])


FILES = {"slack_export.zip": slack_export, "notion_export.zip": notion_export, "bundle.zip": bundle}


def main(folder: Path = HERE) -> None:
    for name, make in FILES.items():
        (folder / name).write_bytes(make())
        print(f"wrote {folder / name}")


if __name__ == "__main__":
    main()
