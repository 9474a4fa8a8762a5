"""Generate the worked example: a support-ticket classifier's training data.

    python sample_datasets/generate.py            # rewrite the files next to this script
    python sample_datasets/generate.py --check    # exit 1 if a committed file differs
    python sample_datasets/generate.py --out DIR  # write a copy somewhere else

Deterministic: every random choice comes from ``random.Random`` seeded with ``SEED`` and
the file's name, and nothing is fetched from the network. The expected audit figures in
README.md are counted here, from the records this script writes, with the rules spelled
out in ``expected_figures`` (not by calling the ledger), so the demo and the README can
be checked against each other.

The company is Larkspur, which sells "Larkspur Drive" (file sync and backup for small
businesses). Its support team wants a classifier that routes incoming tickets.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import random
import sys
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

SEED = 20260301
HERE = Path(__file__).resolve().parent

DATASET = "support-ticket-classifier"
LICENSE_REF = "meridian-support-conversations@1"
CONSENT_V1 = "support-tos@1"
CONSENT_V2 = "support-tos@2"
MODEL = "ticket-router-2026.03"
# The customer whose deletion request the demo answers.
ERASE_CUSTOMER = "C-100482"
ERASE_REQUEST = "DSR-2026-0142"
DATASET_USES = ["train", "external_release"]
LICENSE_GRANTS = ["train", "evaluate"]
CONSENT_V1_PERMITS = ["train", "evaluate"]
LICENSE_EFFECTIVE = "2025-07-01"
SOURCES = ("scraped", "licensed", "first_party", "synthetic")
CONSENT_V2_PERMITS = ["train", "evaluate", "synthetic_seed", "external_release", "commercial"]


# -- text building blocks ----------------------------------------------------------------
# fmt: off
FIRST_NAMES = [
    "Priya", "Tom", "Marta", "Kwame", "Lena", "Diego", "Aisha", "Ben", "Chloe", "Farid",
    "Hannah", "Ivan", "Julia", "Kenji", "Laura", "Mateo", "Nadia", "Oliver", "Paula", "Rafael",
    "Sofia", "Theo", "Uma", "Victor", "Wen", "Yusuf", "Zoe", "Greta", "Owen", "Ines",
]
ROLES = [
    "office manager", "IT lead", "studio manager", "operations", "practice manager",
    "founder", "accounts", "project coordinator", "sysadmin", "head of design",
]
WORKSPACES = [
    "fernhill-architects", "bluecrane-legal", "oakmoor-dental", "tidewater-design",
    "copperleaf-accounting", "northgate-clinic", "brightline-media", "harbourview-realty",
    "pinecrest-studio", "quarrystone-eng", "willowbrook-vets", "redkite-marketing",
]
FOLDERS = [
    "Clients", "Projects 2025", "Finance", "Contracts", "Marketing Assets", "HR",
    "Drawings", "Shared Templates", "Board Packs", "Photos", "Invoices", "Archive",
]
DEPTS = ["design", "finance", "sales", "front desk", "engineering", "admin", "legal"]
OSES = ["Windows 11", "macOS Sonoma", "macOS Sequoia", "Windows 10", "Ubuntu 24.04"]
APP_VERSIONS = ["5.12.1", "5.12.3", "5.13.0", "5.13.2", "5.14.0", "5.14.1"]
PLANS = ["Team", "Business", "Business Plus"]
MONTHS = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "the weekend"]
CITIES = ["Lagos", "Sao Paulo", "Bucharest", "Jakarta", "Kyiv", "Manila", "Lima", "Hanoi"]

TICKET_PROBLEMS: dict[str, list[str]] = {
    "billing": [
        "we were charged twice for the {month} invoice on our {plan} plan",
        "our card was declined at renewal but the payment still left our bank account",
        "I moved us from {plan} down to Starter last month and the invoice still bills "
        "{n} seats",
        "the VAT number disappeared from our invoices after we changed the billing address",
        "we added {n} seats mid-cycle and the prorated charge looks about {pct}% too high",
        "our auditors need every invoice since {month} and the billing page only shows three",
        "we were billed for the {plan} plan although our trial was cancelled before it ended",
    ],
    "account_access": [
        "I'm locked out after too many two-factor attempts and the backup codes are refused",
        "the password reset email never arrives, and it is not in spam either",
        "after our SSO change {n} of our users land on an 'account not provisioned' page",
        "a colleague who left still owns the {folder} folder and I can't transfer it",
        "signing in to the desktop app on {os} loops straight back to the sign-in screen",
        "my new phone was set up from a backup and the authenticator codes no longer work",
    ],
    "sync": [
        "the desktop app has been stuck on 'Indexing {n} files' since {day}",
        "files saved on the {os} laptops don't appear on the web for hours",
        "we keep getting conflicted copies in the shared {folder} folder",
        "selective sync unticked the {folder} folder on its own after the {version} update",
        "a folder renamed on one machine now shows up under both names on the others",
        "sync pauses with 'waiting for network' although the office connection is fine",
    ],
    "sharing": [
        "a shared link I sent to a client says it has expired although it was set to never "
        "expire",
        "people we removed can still open the {folder} folder",
        "the file request link rejects uploads bigger than {n} MB",
        "clients get a 'no access' page when they open links to the {folder} folder",
        "the sharing dialog lists guests twice and I can't tell which entry to remove",
    ],
    "performance": [
        "uploads crawl along at about {speed} on our office fibre",
        "the app sits at {cpu}% CPU all day on our {os} machines",
        "opening the {folder} folder in the web app takes more than {secs} seconds",
        "the first sync of a new laptop took {n} hours for about 40 GB",
        "thumbnails in the {folder} folder take ages to appear and the fan spins up",
    ],
    "data_recovery": [
        "someone deleted the {folder} folder {days} days ago and it is not in the trash",
        "I need the {folder} folder rolled back to how it was on {date}",
        "a file I restored from version history opens as an empty, zero-byte file",
        "ransomware renamed half of the {folder} folder and we need the versions from {date}",
        "the trash was emptied by mistake and the {folder} folder went with it",
    ],
    "integrations": [
        "the Slack integration stopped posting file notifications on {day}",
        "our automation gets a 401 from the Larkspur API since we rotated the token",
        "the Outlook add-in won't attach files over {n} MB as Larkspur links",
        "the accounting export to our bookkeeping tool fails with a timeout",
        "webhooks for the {folder} folder fire twice for every upload",
    ],
    "feature_request": [
        "it would help a lot if admins could export the sharing audit log as CSV",
        "could you add storage quotas per team folder",
        "we would like to pin a file version so it is never pruned",
        "please let us set a default expiry for every shared link in the workspace",
        "a dark mode for the desktop app would be appreciated by the {dept} team",
    ],
}
TICKET_GREETINGS = ["Hi,", "Hello Larkspur team,", "Hi there,", "Good morning,", "Hello,", ""]
TICKET_DETAILS = [
    "This is on {os}, app version {version}.",
    "It affects {n} people in our {dept} team.",
    "We first noticed it on {day}.",
    "I already tried signing out and back in.",
    "Restarting the app fixes it for about an hour.",
    "Our workspace is {workspace}.",
    "Nothing changed on our side as far as I know.",
    "Screenshots are attached.",
    "It started right after the {version} update.",
    "Two of my colleagues see the same thing.",
]
TICKET_IMPACTS = [
    "Our {dept} team can't really work until this is sorted.",
    "It's not urgent but it is getting annoying.",
    "We have a client deadline on {day}.",
    "Month-end is next week so we need this fixed soon.",
    "",
    "",
]
TICKET_ASKS = [
    "Can you take a look?",
    "What do you need from me to investigate?",
    "Is there a workaround in the meantime?",
    "Let me know if you need logs.",
    "Could someone call me back?",
    "Please advise.",
]
TICKET_SIGNOFFS = ["Thanks, {name}", "Best regards, {name}", "Cheers, {name}", "{name} ({role})"]

FORUM_PROBLEMS = [
    ("sync client re-uploads everything after sleep",
     "my sync client re-uploads the same {gb} GB folder every time the laptop wakes up"),
    ("'waiting for network' forever",
     "the {os} client says 'waiting for network' while everything else is online"),
    ("deleted files keep coming back",
     "files I delete on my {device} come back a few minutes later"),
    ("upload speed capped",
     "uploads top out around {speed} whatever bandwidth limit I set"),
    ("2FA codes rejected on new phone",
     "two-factor codes from my authenticator are rejected since I moved to a new phone"),
    ("web shows empty folder",
     "the web interface shows a folder as empty while the desktop has all {n} files"),
    ("version history too short",
     "version history only goes back {days} days, even on the paid tier"),
    ("client eats CPU while indexing",
     "the client sits at {cpu}% CPU while it indexes a photo library"),
    ("shared links expire early",
     "shared links expire after a day although I set them to never expire"),
    ("'path too long' errors",
     "I get 'path too long' errors on files a Mac colleague created"),
    ("conflicted copies everywhere",
     "conflicted copies keep appearing in our team folder"),
    ("NAS backup job fails",
     "the nightly backup from my {device} fails halfway with a timeout"),
    ("selective sync forgets folders",
     "selective sync forgets which folders I unticked after every update"),
    ("can't move folder between accounts",
     "there's no way to move a folder from my personal account to the work one"),
    ("external drive not syncing",
     "folders on an external drive stop syncing once the drive is unplugged and reconnected"),
    ("restore from trash is greyed out",
     "the restore button in the trash is greyed out for files older than {days} days"),
]
FORUM_OPENERS = [
    "Has anyone else run into this?",
    "Long time lurker, first post.",
    "Quick question for the hive mind:",
    "Not sure this is the right subforum, but",
    "Bit of a weird one.",
    "Posting in case it helps someone else.",
    "Been banging my head against this all weekend.",
    "Small office setup here, nothing fancy.",
    "Home user, so go easy on me.",
    "This has been driving me mad for weeks:",
]
FORUM_DETAILS = [
    "Running {os} on my {device}.",
    "It started after the last client update.",
    "I've already unlinked and relinked the account.",
    "Reinstalling didn't change anything.",
    "Router is a bog-standard ISP one.",
    "About {people} of us share the same plan.",
    "Logs just say 'operation failed', helpfully.",
    "Same thing on wired and on wifi.",
    "Antivirus is off while I test.",
    "The folder is around {gb} GB with lots of small files.",
]
FORUM_CLOSINGS = [
    "Any ideas?",
    "Thanks in advance.",
    "Edit: still happening after today's update.",
    "Is there a config flag for this somewhere?",
    "Cheers.",
    "Support told me to clear the cache, no change.",
    "Is this a known bug or am I doing something wrong?",
    "Would switching providers even fix it?",
    "Bumping this because nobody answered last time.",
    "Solved it myself in the end, see my reply below.",
]
FORUM_BOARDS = ["sync-and-backup", "home-networking", "small-business-it", "troubleshooting"]
DEVICES = [
    "ThinkPad", "MacBook Air", "Synology NAS", "gaming PC", "Surface Pro", "iMac", "QNAP NAS",
]

CORPUS_DOMAINS: dict[str, list[tuple[str, str, str, str]]] = {
    # (customer opening, agent reply, customer follow-up, agent close)
    "billing": [
        ("I was charged twice for my {month} subscription.",
         "I'm sorry about that. I can see two charges of ${amount} and have refunded one; "
         "it takes three to five working days to show.",
         "Great, will I get a confirmation email?",
         "Yes, a refund receipt is on its way now. Anything else I can help with?"),
        ("Can I switch from monthly to annual billing without losing my discount?",
         "You can. The annual price is ${amount} and your current discount carries over.",
         "And the unused part of this month?",
         "It is credited against the first annual invoice automatically."),
        ("Why did my bill go up this month?",
         "Your plan renewed at the new list price of ${amount} after the promotional period.",
         "I didn't get any warning about that.",
         "I understand. I've applied a one-off credit of ${credit} as a goodwill gesture."),
    ],
    "account": [
        ("I can't log in, it says my account is disabled.",
         "Thanks for reaching out. For security I need to verify the email on the account "
         "first; I've sent a code.",
         "Got it, the code is in.",
         "Thank you, the account is active again. Please reset your password when you log in."),
        ("How do I add a new admin to our account?",
         "Go to Settings, then Members, choose the person and set their role to Admin.",
         "I don't see the Members tab.",
         "Only owners see it. I can see the owner is {name}; they will need to do it."),
        ("I lost my phone and can't get past two-step verification.",
         "I'm sorry to hear that. I can start an identity check, which takes about 24 hours.",
         "Is there anything faster?",
         "If you saved backup codes when you set it up, any one of them will work now."),
    ],
    "technical": [
        ("The app crashes every time I open it on my laptop.",
         "Sorry about that. Which version are you on? You'll find it under Help, then About.",
         "It says {version}.",
         "That version has a known crash on start; version {newer} fixes it. "
         "Could you update and try again?"),
        ("My files are not syncing between my phone and computer.",
         "Let's check a few things. Are both devices signed in to the same account?",
         "Yes, same email on both.",
         "Thanks. Please pull down to refresh on the phone; if nothing changes I'll "
         "reset the sync state on our side."),
        ("Exports to PDF come out blank.",
         "Thanks for the details. Does it happen with every document or just one?",
         "Only the large ones, over {pages} pages.",
         "That matches a known limit. Splitting the export in two works until the fix ships."),
    ],
    "subscription": [
        ("I want to cancel my subscription.",
         "I can help with that. May I ask why you're leaving? It helps us improve.",
         "It's just too expensive for how much we use it.",
         "Understood. Your plan stays active until the end of the billing period on {date}."),
        ("Do you offer a discount for non-profits?",
         "We do: registered non-profits get {pct}% off any paid plan.",
         "What do you need from us?",
         "Just your registration certificate; reply with it and I'll apply the discount."),
        ("Can I pause my plan for two months?",
         "Plans can be paused for up to three months once a year.",
         "Perfect, please pause it from next week.",
         "Done. Billing resumes automatically on {date}; we'll remind you a week before."),
    ],
}
CORPUS_EXTRA_CUSTOMER = [
    "Thanks for the quick answer.",
    "Okay.",
    "That's helpful.",
    "Hmm, alright.",
    "I appreciate it.",
    "Makes sense.",
]
CORPUS_EXTRA_AGENT = [
    "Is there anything else I can help you with today?",
    "Have a good rest of your day.",
    "Feel free to reply here if anything else comes up.",
    "Thanks for your patience.",
]

ESCALATION_OPENERS = [
    "This is the {nth} time I'm writing about this.",
    "I need this escalated today.",
    "I'm very disappointed with how this has been handled.",
    "We have now been waiting {days} days for a real answer.",
    "Nobody has replied to my last {n} messages.",
]
ESCALATION_TOPICS = {
    "billing": "the double charge on our account",
    "account_access": "being locked out of our admin account",
    "sync": "files not syncing across our team",
    "sharing": "clients being unable to open our shared links",
    "performance": "the app being unusably slow",
    "data_recovery": "the folder we lost and still can't get back",
    "integrations": "the broken integration our workflow depends on",
    "feature_request": "the feature we were promised at renewal",
}
ESCALATION_IMPACTS = [
    "Our {dept} team has been idle for two days.",
    "We are about to miss a deadline with our biggest client.",
    "This is costing us real money every day.",
    "My director is now asking me why we pay for this.",
    "We have a board meeting on {day} and the files are needed.",
]
ESCALATION_DEMANDS = [
    "If this isn't fixed by {day} we will cancel our {plan} contract.",
    "Please have a manager call me.",
    "I want a named person who owns this until it is fixed.",
    "We expect a credit for the downtime.",
    "Escalate this to your engineering team, not another first-line reply.",
]
SECURITY_EVENTS = [
    "I got a sign-in alert from {city} at {hour}:{minute} and it wasn't me",
    "a shared link to our {folder} folder was forwarded outside the company and we need to "
    "know who opened it",
    "one of our staff entered their password on a fake 'storage full' page that looked like "
    "yours",
    "an ex-employee's account still shows an active session on a device we don't recognise",
    "our audit log shows {n} files downloaded from the {folder} folder overnight by one user",
    "someone added a new device to my account without the usual approval email",
    "we found an API token of ours pasted in a public code repository",
]
SECURITY_FOLLOWUPS = [
    "I've changed the password already.",
    "We have revoked the link but need the access history.",
    "Can you force a sign-out everywhere for this user?",
    "Do we need to report this, and can you give us the logs to do it?",
    "Please tell us what else we should lock down.",
]
PARAPHRASE_PREFIXES = [
    "Reported over chat:", "Summary of a phone call:", "Customer writes:",
    "Forwarded from the admin:", "Relayed by the account manager:",
]
PARAPHRASE_SWAPS = [
    ("I got", "we received"),
    ("it wasn't me", "nobody here did that"),
    ("we need to know", "they want to find out"),
    ("entered their password", "typed their credentials"),
    ("still shows", "still has"),
    ("Can you", "Could you please"),
    ("already", "straight away"),
    ("Please tell us", "They ask"),
    ("overnight", "during the night"),
]
OUTAGE_TEXTS = [
    "Your service has been down for {hours} hours and none of our {n} staff can reach "
    "their files.",
    "Every upload fails with error {code} and your status page still says all systems "
    "are operational.",
    "We were told the outage would be fixed in an hour; it has been {hours} hours.",
    "Our whole office lost access to the shared drive during a client presentation.",
    "The sync service deleted local copies during the outage and we need them back now.",
    "Your mobile app shows 'server unavailable' for everyone on our team.",
]
OUTAGE_ENDINGS = [
    "Escalate this immediately.",
    "We want compensation for the lost working day.",
    "Call me as soon as you see this.",
    "I expect a full incident report.",
    "We are evaluating other providers because of this.",
]
# fmt: on


# -- the records ---------------------------------------------------------------------------
def normalise_text(text: str) -> str:
    """The documented content-hash normalisation: NFKC, case-folded, whitespace runs
    collapsed to one space, trimmed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


class Texts:
    """Hands out texts that are unique across the whole dataset (after normalisation), so
    the only duplicates in the sample are the ones planted on purpose."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def unique(self, rng: random.Random, make: Any) -> str:
        for _ in range(1000):
            text = make(rng).strip()
            key = normalise_text(text)
            if key not in self.seen:
                self.seen.add(key)
                return text
        raise RuntimeError("could not make a unique text; add more variety")


def slots(rng: random.Random) -> dict[str, Any]:
    return {
        "month": rng.choice(MONTHS),
        "plan": rng.choice(PLANS),
        "n": rng.randint(2, 60),
        "pct": rng.choice([10, 15, 20, 25, 30, 40]),
        "folder": rng.choice(FOLDERS),
        "os": rng.choice(OSES),
        "version": rng.choice(APP_VERSIONS),
        "day": rng.choice(DAYS),
        "speed": f"{rng.choice([200, 350, 500, 800])} KB/s",
        "cpu": rng.choice([40, 60, 85, 100, 140]),
        "secs": rng.choice([20, 30, 45, 90]),
        "days": rng.choice([3, 9, 12, 20, 31, 45]),
        "date": (date(2025, 1, 1) + timedelta(days=rng.randint(0, 360))).isoformat(),
        "dept": rng.choice(DEPTS),
        "workspace": rng.choice(WORKSPACES),
        "name": rng.choice(FIRST_NAMES),
        "role": rng.choice(ROLES),
        "gb": rng.choice([12, 40, 85, 160, 300]),
        "device": rng.choice(DEVICES),
        "people": rng.randint(3, 25),
        "amount": f"{rng.choice([9, 12, 19, 29, 49, 99])}.{rng.choice(['00', '99'])}",
        "credit": f"{rng.choice([5, 10, 15, 20])}.00",
        "newer": "4.2.1",
        "pages": rng.choice([50, 100, 200]),
        "nth": rng.choice(["third", "fourth", "fifth"]),
        "city": rng.choice(CITIES),
        "hour": f"{rng.randint(0, 5):02d}",
        "minute": f"{rng.randint(0, 59):02d}",
        "hours": rng.randint(3, 30),
        "code": rng.choice([502, 503, 504, 507]),
    }


def ticket_text(rng: random.Random, label: str) -> str:
    s = slots(rng)
    problem = rng.choice(TICKET_PROBLEMS[label]).format(**s)
    details = rng.sample(TICKET_DETAILS, rng.randint(1, 2))
    body = [
        problem[0].upper() + problem[1:] + ".",
        *(d.format(**s) for d in details),
        rng.choice(TICKET_IMPACTS).format(**s),
        rng.choice(TICKET_ASKS),
    ]
    paragraphs = [
        rng.choice(TICKET_GREETINGS),
        " ".join(p for p in body if p),
        rng.choice(TICKET_SIGNOFFS).format(**s),
    ]
    return "\n\n".join(p for p in paragraphs if p)


@dataclass
class Batch:
    """One file of the sample and how the demo registers it."""

    file: str
    source: str
    records: list[dict[str, Any]]
    text_field: str = "text"
    split: str = "train"
    license: str | None = None
    consent: str | None = None
    origin: str | None = None
    collected_at: str | None = None
    subject_field: str | None = None
    derived_from: list[str] = field(default_factory=list)
    generator: str | None = None
    cost: float | None = None
    note: str = ""
    # What the batch declares for disclosures (see METADATA): channel, languages, crawler,
    # opt-out evidence, generating model and terms, processing.
    metadata: dict[str, Any] = field(default_factory=dict)

    def spec(self) -> dict[str, Any]:
        """The batch's entry in batches.json: the options of ``provledger register``."""
        spec: dict[str, Any] = {"file": self.file, "source": self.source, "split": self.split}
        for key in ("license", "consent", "origin", "collected_at", "subject_field"):
            if getattr(self, key) is not None:
                spec[key] = getattr(self, key)
        if self.text_field != "text":
            spec["text_field"] = self.text_field
        if self.derived_from:
            spec["derived_from"] = list(self.derived_from)
        if self.generator is not None:
            spec["generator"] = self.generator
        if self.cost is not None:
            spec["cost"] = self.cost
        spec.update(self.metadata)
        spec["note"] = self.note
        return spec


def forum_posts(texts: Texts) -> Batch:
    """Scraped: 234 distinct public forum posts plus 6 cross-posts (exact duplicates)."""
    rng = random.Random(f"{SEED}-forum")
    records: list[dict[str, Any]] = []
    for i in range(234):
        title, body = rng.choice(FORUM_PROBLEMS)

        def make(r: random.Random, body: str = body) -> str:
            s = slots(r)
            problem = body.format(**s)
            return " ".join(
                [
                    r.choice(FORUM_OPENERS),
                    problem[0].upper() + problem[1:] + ".",
                    *(d.format(**s) for d in r.sample(FORUM_DETAILS, r.randint(1, 3))),
                    r.choice(FORUM_CLOSINGS),
                ]
            )

        post_id = 48_100 + i * 7 + rng.randint(0, 6)
        board = rng.choice(FORUM_BOARDS)
        slug = title.lower().replace("'", "").replace(" ", "-")
        records.append(
            {
                "post_id": post_id,
                "url": f"https://community.example.org/c/{board}/t/{slug}/{post_id}",
                "title": title[0].upper() + title[1:],
                "text": texts.unique(rng, make),
                "crawled_at": "2025-11-03",
            }
        )
    # Six posts cross-posted to a second board: same title and text, new id and URL.
    for j, original in enumerate(rng.sample(records, 6)):
        post_id = 49_900 + j
        board = next(b for b in FORUM_BOARDS if b not in original["url"])
        slug = original["url"].split("/t/")[1].split("/")[0]
        copy = dict(original, post_id=post_id)
        copy["url"] = f"https://community.example.org/c/{board}/t/{slug}/{post_id}"
        records.insert(rng.randint(0, len(records)), copy)
    return Batch(
        file="scraped/forum_posts.jsonl",
        source="scraped",
        records=records,
        origin="https://community.example.org/",
        collected_at="2025-11-03",
        cost=180.0,
        note="public forum posts from a 2025-11-03 crawl; 6 are cross-posted duplicates",
    )


def support_conversations(texts: Texts) -> Batch:
    """Licensed: 300 multi-turn helpdesk conversations from a data vendor."""
    rng = random.Random(f"{SEED}-corpus")
    records = []
    domains = sorted(CORPUS_DOMAINS)
    for i in range(300):
        domain = domains[i % len(domains)]

        def make(r: random.Random, domain: str = domain) -> str:
            s = slots(r)
            s["version"] = f"4.{r.randint(0, 1)}.{r.randint(0, 9)}"
            opening, reply, follow, close = (
                t.format(**s) for t in r.choice(CORPUS_DOMAINS[domain])
            )
            turns = [f"Customer: {opening}", f"Agent: {reply}", f"Customer: {follow}"]
            turns.append(f"Agent: {close}")
            if r.random() < 0.7:
                turns.append(f"Customer: {r.choice(CORPUS_EXTRA_CUSTOMER)}")
                turns.append(f"Agent: {r.choice(CORPUS_EXTRA_AGENT)}")
            if r.random() < 0.5:
                turns.insert(0, f"[conversation {r.randint(10_000, 99_999)}]")
            return "\n".join(turns)

        text = texts.unique(rng, make)
        records.append(
            {
                "conversation_id": f"MDC-EN-{i + 1:05d}",
                "domain": domain,
                "turns": text.count("Customer:") + text.count("Agent:"),
                "text": text,
            }
        )
    return Batch(
        file="licensed/support_conversations.jsonl",
        source="licensed",
        records=records,
        license=LICENSE_REF,
        origin="meridian://corpora/support-conversations-en/v3",
        collected_at="2025-09-30",
        cost=4500.0,
        note="licensed corpus; the license grants train and evaluate only",
    )


def tickets(
    texts: Texts,
    name: str,
    count: int,
    start: date,
    days: int,
    prefix: str,
    target: int,
    customers: list[str],
) -> list[dict[str, Any]]:
    """First-party tickets. ``target`` of them belong to ERASE_CUSTOMER."""
    rng = random.Random(f"{SEED}-{name}")
    labels = sorted(TICKET_PROBLEMS)
    weights = [18, 14, 22, 10, 12, 8, 8, 8]  # sync and billing dominate, as they do in life
    target_rows = set(rng.sample(range(count), target))
    records = []
    for i in range(count):
        label = rng.choices(labels, weights)[0]
        created = datetime(start.year, start.month, start.day) + timedelta(
            days=rng.randint(0, days), minutes=rng.randint(8 * 60, 18 * 60)
        )
        records.append(
            {
                "ticket_id": f"{prefix}-{i + 1:05d}",
                "customer_id": ERASE_CUSTOMER if i in target_rows else rng.choice(customers),
                "created_at": created.strftime("%Y-%m-%dT%H:%M:00Z"),
                "channel": rng.choice(["email", "email", "web_form", "chat"]),
                "text": texts.unique(rng, lambda r, label=label: ticket_text(r, label)),
                "label": label,
            }
        )
    return records


def customer_pool() -> list[str]:
    rng = random.Random(f"{SEED}-customers")
    pool = sorted({f"C-{rng.randint(100_000, 109_999)}" for _ in range(260)})
    return [c for c in pool if c != ERASE_CUSTOMER]


def first_party(texts: Texts) -> tuple[Batch, Batch, Batch]:
    """Tickets of 2024 (consent v1, CSV), of 2025 (consent v2) and a test split that
    leaks six tickets of the 2025 train file."""
    customers = customer_pool()
    v1 = tickets(texts, "tickets-2024", 200, date(2024, 1, 2), 360, "LRK-24", 4, customers)
    v2 = tickets(texts, "tickets-2025", 220, date(2025, 1, 20), 340, "LRK-25", 3, customers)
    rng = random.Random(f"{SEED}-tickets-test")
    held_out = tickets(texts, "tickets-test", 74, date(2026, 1, 5), 25, "LRK-26", 0, customers)
    # The leak: six 2025 train tickets (none of the erased customer's) copied verbatim.
    leaked = rng.sample([r for r in v2 if r["customer_id"] != ERASE_CUSTOMER], 6)
    test = list(held_out)
    for record in leaked:
        test.insert(rng.randint(0, len(test)), dict(record))
    return (
        Batch(
            file="first_party/tickets_2024.csv",
            source="first_party",
            records=v1,
            consent=CONSENT_V1,
            subject_field="customer_id",
            origin="helpdesk-export://larkspur/tickets?year=2024",
            collected_at="2024-12-31",
            cost=900.0,
            note="tickets collected under support-tos v1 (CSV)",
        ),
        Batch(
            file="first_party/tickets_2025.jsonl",
            source="first_party",
            records=v2,
            consent=CONSENT_V2,
            subject_field="customer_id",
            origin="helpdesk-export://larkspur/tickets?year=2025",
            collected_at="2025-12-31",
            cost=990.0,
            note="tickets collected under support-tos v2",
        ),
        Batch(
            file="first_party/tickets_test.jsonl",
            source="first_party",
            records=test,
            split="test",
            consent=CONSENT_V2,
            subject_field="customer_id",
            origin="helpdesk-export://larkspur/tickets?month=2026-01",
            collected_at="2026-01-31",
            cost=400.0,
            note="held-out test split; 6 tickets are copies of 2025 train tickets (a leak)",
        ),
    )


def escalations(texts: Texts, seeds: list[dict[str, Any]]) -> Batch:
    """Synthetic escalations, each seeded with one first-party ticket; the erased customer
    seeds exactly two of them."""
    rng = random.Random(f"{SEED}-escalations")
    target_seeds = [r for r in seeds if r["customer_id"] == ERASE_CUSTOMER][:2]
    others = [r for r in seeds if r["customer_id"] != ERASE_CUSTOMER]
    chosen = target_seeds + rng.sample(others, 118)
    rng.shuffle(chosen)
    records = []
    for i, seed in enumerate(chosen):
        topic = ESCALATION_TOPICS[seed["label"]]

        def make(r: random.Random, topic: str = topic) -> str:
            s = slots(r)
            return " ".join(
                [
                    r.choice(ESCALATION_OPENERS).format(**s),
                    f"This is about {topic}.",
                    r.choice(ESCALATION_IMPACTS).format(**s),
                    r.choice(ESCALATION_DEMANDS).format(**s),
                ]
            )

        records.append(
            {
                "id": f"SYN-ESC-{i + 1:04d}",
                "text": texts.unique(rng, make),
                "label": "escalation",
                "seed_ticket": seed["ticket_id"],
                "seed_customer_id": seed["customer_id"],
            }
        )
    return Batch(
        file="synthetic/escalations.jsonl",
        source="synthetic",
        records=records,
        subject_field="seed_customer_id",
        derived_from=["first_party/tickets_2024.csv", "first_party/tickets_2025.jsonl"],
        generator="ticket-sim 0.4, escalation prompt seeded with first-party tickets",
        collected_at="2026-02-10",
        cost=60.0,
        note="synthetic escalations seeded with first-party tickets (keeps the seed customer)",
    )


def security_incidents(texts: Texts, seeds: list[dict[str, Any]]) -> Batch:
    """Synthetic security incidents seeded with 2025 tickets (Parquet)."""
    rng = random.Random(f"{SEED}-security")
    records = []
    for i in range(90):
        seed = rng.choice(seeds)

        def make(r: random.Random) -> str:
            s = slots(r)
            event = r.choice(SECURITY_EVENTS).format(**s)
            return " ".join(
                [
                    r.choice(["Urgent:", "Security issue:", "Hi,", "Please help:"]),
                    event[0].upper() + event[1:] + ".",
                    r.choice(SECURITY_FOLLOWUPS),
                    f"Workspace {s['workspace']}.",
                ]
            )

        records.append(
            {
                "id": f"SYN-SEC-{i + 1:04d}",
                "text": texts.unique(rng, make),
                "label": "security",
                "seed_ticket": seed["ticket_id"],
            }
        )
    return Batch(
        file="synthetic/security_incidents.parquet",
        source="synthetic",
        records=records,
        derived_from=["first_party/tickets_2025.jsonl"],
        generator="ticket-sim 0.4, security-incident prompt seeded with 2025 tickets",
        collected_at="2026-02-12",
        cost=45.0,
        note="synthetic security incidents seeded with 2025 tickets (Parquet)",
    )


def paraphrases(texts: Texts, parents: list[dict[str, Any]]) -> Batch:
    """Synthetic built on synthetic: paraphrases of 60 security incidents (depth 2)."""
    rng = random.Random(f"{SEED}-paraphrase")
    records = []
    for i, parent in enumerate(rng.sample(parents, 60)):

        def make(r: random.Random, source: str = parent["text"]) -> str:
            text = source
            for old, new in r.sample(PARAPHRASE_SWAPS, len(PARAPHRASE_SWAPS)):
                if r.random() < 0.8:
                    text = text.replace(old, new)
            return f"{r.choice(PARAPHRASE_PREFIXES)} {text}"

        records.append(
            {
                "id": f"SYN-PAR-{i + 1:04d}",
                "text": texts.unique(rng, make),
                "label": "security",
                "parent": parent["id"],
            }
        )
    return Batch(
        file="synthetic/security_paraphrases.jsonl",
        source="synthetic",
        records=records,
        derived_from=["synthetic/security_incidents.parquet"],
        generator="paraphrase-lm 1.1, rewrites of synthetic security incidents",
        collected_at="2026-02-14",
        cost=12.0,
        note="paraphrases of synthetic records: synthetic built on synthetic (depth 2)",
    )


def zero_shot(texts: Texts) -> Batch:
    """Synthetic outage escalations generated from a prompt alone: no seed data."""
    rng = random.Random(f"{SEED}-zero-shot")
    records = []
    for i in range(50):

        def make(r: random.Random) -> str:
            s = slots(r)
            return " ".join(
                [r.choice(OUTAGE_TEXTS).format(**s), r.choice(OUTAGE_ENDINGS).format(**s)]
            )

        records.append(
            {"id": f"SYN-ZS-{i + 1:04d}", "text": texts.unique(rng, make), "label": "escalation"}
        )
    return Batch(
        file="synthetic/zero_shot_outages.jsonl",
        source="synthetic",
        records=records,
        generator="ticket-sim 0.4, outage prompt with no seed tickets",
        collected_at="2026-02-15",
        cost=20.0,
        note="synthetic outage complaints generated with no seed data (unanchored)",
    )


def build() -> list[Batch]:
    """Every batch, in the order the demo registers them (parents before children)."""
    texts = Texts()
    scraped = forum_posts(texts)
    licensed = support_conversations(texts)
    v1, v2, test = first_party(texts)
    esc = escalations(texts, v1.records + v2.records)
    sec = security_incidents(texts, v2.records)
    par = paraphrases(texts, sec.records)
    zs = zero_shot(texts)
    templated = templated_disputes(texts)
    batches = [scraped, licensed, v1, v2, test, esc, sec, par, zs, templated]
    batches.append(production_sample(texts))
    for b in batches:
        b.metadata = METADATA[b.file]
    return batches


# Three long templates with one slot at the very end: every record is a near copy of the
# first record of its template (word 5-gram Jaccard above 0.9).
DISPUTE_TEMPLATES = [
    "Hello support team, I am writing about a billing dispute on my account because the "
    "invoice for this month shows a charge for the premium plan that we never agreed to "
    "and our finance department cannot approve the payment until it is corrected. "
    "Invoice reference {ref}.",
    "Hi there, we were charged twice for the same subscription period and the duplicate "
    "charge has not been refunded even though your agent promised a refund within five "
    "business days, so please escalate this billing dispute to a supervisor today. "
    "Case number {ref}.",
    "Dear billing team, the discount that was part of our annual contract is missing from "
    "the latest invoice and the total is now higher than the amount in the signed order "
    "form, so we dispute the invoice and ask for a corrected copy. Order {ref}.",
]


def templated_disputes(texts: Texts) -> Batch:
    """Synthetic billing disputes from three templates: the batch that collapses."""
    rng = random.Random(f"{SEED}-templated")
    records = []
    for i in range(60):
        template = DISPUTE_TEMPLATES[i % len(DISPUTE_TEMPLATES)]

        def make(r: random.Random, template: str = template) -> str:
            return template.format(ref=f"BD-{r.randint(10_000, 99_999)}")

        records.append(
            {"id": f"SYN-TPL-{i + 1:04d}", "text": texts.unique(rng, make), "label": "billing"}
        )
    return Batch(
        file="synthetic/billing_disputes_templated.jsonl",
        source="synthetic",
        records=records,
        derived_from=["first_party/tickets_2025.jsonl"],
        generator="ticket-sim 0.4, billing-dispute prompt with three fixed templates",
        collected_at="2026-02-16",
        cost=5.0,
        note="synthetic billing disputes from three templates: diversity collapses",
    )


def production_sample(texts: Texts) -> Batch:
    """A sample of February 2026 production tickets, registered --split reference: the
    yardstick for distribution match (drawn like the first-party tickets; the erased
    customer has none, so no erasure figure changes)."""
    sample = tickets(
        texts, "production-2026-02", 120, date(2026, 2, 1), 26, "LRK-PRD", 0, customer_pool()
    )
    return Batch(
        file="first_party/production_sample_2026_02.jsonl",
        source="first_party",
        records=sample,
        split="reference",
        consent=CONSENT_V2,
        subject_field="customer_id",
        origin="helpdesk-export://larkspur/tickets?month=2026-02&sample=1in50",
        collected_at="2026-02-28",
        note="a sample of production traffic (reference): the yardstick for distribution match",
    )


# -- what each batch declares for disclosures ---------------------------------------------
# The robots.txt the crawler read on 2025-11-03; its SHA-256 is in the opt-out evidence.
ROBOTS_TXT = "User-agent: *\nAllow: /\n\nUser-agent: LarkspurBot\nCrawl-delay: 2\n"
TICKET_PROCESSING = "exported from the helpdesk; attachments and agent notes left out"
TICKET_SIM_TERMS = "Larkspur's own tool: no third-party terms"
METADATA: dict[str, dict[str, Any]] = {
    "scraped/forum_posts.jsonl": {
        "channel": "own_crawl",
        "languages": ["en"],
        "crawler": "LarkspurBot",
        "opt_out": {
            "checked_at": "2025-11-03T06:00:00Z",
            "robots_txt": {
                "sha256": hashlib.sha256(ROBOTS_TXT.encode()).hexdigest(),
                "agents": ["LarkspurBot", "*"],
                "verdict": "allowed",
            },
            "tdmrep": {"reserved": False, "policy": None},
            "ai_preference": {"train_ai": "unset"},
        },
        "processing": "forum markup stripped; each post kept as title and body text",
    },
    "licensed/support_conversations.jsonl": {
        "channel": "rightsholder_license",
        "languages": ["en"],
        "processing": "used as delivered by the licensor",
    },
    "first_party/tickets_2024.csv": {
        "channel": "user_data_this_service",
        "languages": ["en"],
        "processing": TICKET_PROCESSING,
    },
    "first_party/tickets_2025.jsonl": {
        "channel": "user_data_this_service",
        "languages": ["en"],
        "processing": TICKET_PROCESSING,
    },
    "first_party/tickets_test.jsonl": {
        "channel": "user_data_this_service",
        "languages": ["en"],
        "processing": TICKET_PROCESSING,
    },
    "synthetic/escalations.jsonl": {
        "languages": ["en"],
        "generator_model": "ticket-sim 0.4",
        "generator_terms": TICKET_SIM_TERMS,
    },
    "synthetic/security_incidents.parquet": {
        "languages": ["en"],
        "generator_model": "ticket-sim 0.4",
        "generator_terms": TICKET_SIM_TERMS,
    },
    "synthetic/security_paraphrases.jsonl": {
        "languages": ["en"],
        "generator_model": "paraphrase-lm 1.1",
        "generator_terms": "Apache-2.0 model licence",
    },
    "synthetic/zero_shot_outages.jsonl": {
        "languages": ["en"],
        "generator_model": "ticket-sim 0.4",
        "generator_terms": TICKET_SIM_TERMS,
    },
    "synthetic/billing_disputes_templated.jsonl": {
        "languages": ["en"],
        "generator_model": "ticket-sim 0.4",
        "generator_terms": TICKET_SIM_TERMS,
    },
    "first_party/production_sample_2026_02.jsonl": {
        "channel": "user_data_this_service",
        "languages": ["en"],
        "processing": TICKET_PROCESSING,
    },
}

# The organisation profile. It leaves illegal_content_measures out on purpose, so the EU
# summary lists one value to declare before publishing.
PROFILE: dict[str, Any] = {
    "provider": {
        "name": "Larkspur Software Inc.",
        "contact": "ai-transparency@larkspur.example",
    },
    "intended_purpose": "Route incoming Larkspur Drive support tickets to the right team",
    "models": {
        MODEL: {"version": "2026.03", "placed_on_market": "2026-03-16", "based_on": []},
    },
    "crawlers": {
        "LarkspurBot": {
            "purpose": "collect public support-forum posts about Larkspur Drive",
            "behaviour": "one request every 2 seconds; public pages only, no logins",
        }
    },
    "datasets": {
        DATASET: {
            "purpose": "examples of real support tickets and their topics, from which the "
            "router learns which team handles which ticket",
            "collection_ongoing": True,
        }
    },
    "optout_measures": "robots.txt (for LarkspurBot and *), TDMRep and AI-preference "
    "signals are read before a crawl; a reservation stops it",
    "ip_statement": "Forum posts and tickets may mention product names (trademarks); no "
    "patented material is known to be included",
    "aggregate_consumer_information": False,
}


# -- manifests and documents -------------------------------------------------------------
CONTRACT = """\
DATA LICENSE AGREEMENT (summary schedule)

Licensor:  Meridian Dialogue Data Ltd., 14 Cable Street, Leeds LS1 4DL, United Kingdom
Licensee:  Larkspur Software Inc., 220 Market Street, Portland OR 97204, USA
Corpus:    Meridian Support Conversations (English), release 3, 300 conversations
Reference: MDD-2025-0718

1. Grant. Licensor grants Licensee a perpetual, non-exclusive, non-transferable licence to
   use the Corpus to (a) train machine-learning models and (b) evaluate machine-learning
   models, in each case for Licensee's internal business purposes.
2. Restrictions. Licensee shall not (a) redistribute the Corpus or any part of it, (b)
   make available to any third party a model trained on the Corpus, whether by release of
   its weights, by on-premises installation or as part of a product delivered to customers,
   or (c) use the Corpus for any purpose not listed in clause 1, without a separate written
   amendment.
3. Fees. A one-off fee of USD 4,500.00, payable within 30 days of delivery.
4. Provenance. Licensor warrants that every conversation was collected with the consent of
   the participants and has been de-identified before delivery.
5. Term. This licence takes effect on 1 July 2025 and continues until terminated for
   material breach.

Signed for Licensor: R. Okafor, Director of Partnerships, 2025-07-01
Signed for Licensee: D. Whitfield, Head of ML Platform, 2025-07-01
"""


def manifests(contract_sha256: str) -> dict[str, dict[str, Any]]:
    return {
        "license.json": {
            "id": "meridian-support-conversations",
            "version": 1,
            "title": "Meridian Support Conversations (English), release 3",
            "licensor": "Meridian Dialogue Data Ltd.",
            "grants": LICENSE_GRANTS,
            "effective_from": LICENSE_EFFECTIVE,
            "expires_on": None,
            "spdx": "LicenseRef-Meridian-Data-License-1.0",
            "document_sha256": contract_sha256,
        },
        "consent-v1.json": {
            "policy": "support-tos",
            "version": 1,
            "effective_from": "2022-03-01",
            "permits": CONSENT_V1_PERMITS,
            "retention_days": None,
            "prior_versions": {},
        },
        "consent-v2.json": {
            "policy": "support-tos",
            "version": 2,
            "effective_from": "2025-01-15",
            "permits": CONSENT_V2_PERMITS,
            "retention_days": None,
            "prior_versions": {"1": "reconsent_required"},
        },
        "dataset.json": {
            "name": DATASET,
            "owner": "ML Platform (Dana Whitfield)",
            "context": "customer_facing",
            "uses": DATASET_USES,
        },
        "profile.json": PROFILE,
    }


def demo_plan() -> dict[str, Any]:
    """What the demo does besides registering batches (kept in batches.json)."""
    return {
        "dataset": DATASET,
        "license": "license.json",
        "consent": ["consent-v1.json", "consent-v2.json"],
        "dataset_manifest": "dataset.json",
        "model": MODEL,
        "profile": "profile.json",
        "erasure": {"subject": ERASE_CUSTOMER, "request": ERASE_REQUEST},
    }


# -- expected figures, counted here ------------------------------------------------------
def expected_figures(batches: list[Batch]) -> dict[str, Any]:
    """The audit figures the demo must print, counted from the generated records.

    The rules, as DESIGN.md and docs/audit.md state them, re-implemented
    here over the records themselves:

    - counts are of active records: a record is erased when its subject field holds the
      erased customer's id; shares are fractions of active records, to four decimals;
    - consent: records under support-tos@1 are superseded and non-compliant (version 2
      marks version 1 reconsent_required, and version 1 does not permit external_release);
    - licenses: the license does not grant external_release, so every licensed record
      violates it;
    - provenance: a licensed batch whose contract hash is recorded and whose license was in
      force on the collection day is provable, as is a first-party batch whose consent
      version was in force that day; a batch with origin and collection time but no such
      evidence is documented; a synthetic batch takes the weakest level of the real batches
      it descends from, and is unknown when it descends from none (unanchored);
      certainty = (provable + documented / 2) / records, to four decimals;
    - generation depth counts synthetic generations from real data;
    - duplicate_records = active records minus distinct normalised texts;
      cross_split_records = test records whose normalised text is also in a train record;
    - cost per usable record = the source's batch costs / its active records;
    - lineage of the erased customer: the batches holding their records (direct), every
      batch derived from those (derived), and the model trained on the dataset.
    - reference batches (production samples) are not training data: no figure counts them.
    """
    every_batch = batches
    batches = [b for b in batches if b.split not in ("reference", "benchmark")]
    by_file = {b.file: b for b in batches}

    def erased(b: Batch, r: dict[str, Any]) -> bool:
        return b.subject_field is not None and r[b.subject_field] == ERASE_CUSTOMER

    active = {b.file: [r for r in b.records if not erased(b, r)] for b in batches}
    erased_per_file = {b.file: len(b.records) - len(active[b.file]) for b in batches}
    total = sum(len(rs) for rs in active.values())
    total_before = sum(len(b.records) for b in batches)

    def share(n: int) -> float:
        return round(n / total, 4)

    blend = {}
    for source in SOURCES:
        files = [b.file for b in batches if b.source == source]
        n = sum(len(active[f]) for f in files)
        blend[source] = {"records": n, "share": share(n), "batches": len(files)}

    # Consent: version 2 is the latest; version 1 is superseded and needs re-consent.
    consent_versions: Counter[str] = Counter()
    for b in batches:
        if b.consent:
            consent_versions[b.consent] += len(active[b.file])
    by_version = {}
    for ref, n in sorted(consent_versions.items()):
        current = ref == CONSENT_V2
        permits = CONSENT_V2_PERMITS if current else CONSENT_V1_PERMITS
        missing = [u for u in DATASET_USES if u not in permits]
        noncompliant = n if (not current or missing) else 0
        by_version[ref] = {
            "records": n,
            "status": "current" if current else "superseded",
            "noncompliant": noncompliant,
        }
    consent = {
        "records": sum(consent_versions.values()),
        "current": sum(v["records"] for v in by_version.values() if v["status"] == "current"),
        "superseded": sum(v["records"] for v in by_version.values() if v["status"] == "superseded"),
        "noncompliant": sum(v["noncompliant"] for v in by_version.values()),
        "by_version": by_version,
    }

    licensed_files = [b.file for b in batches if b.license == LICENSE_REF]
    licenses = {
        "violations": [
            {
                "license": LICENSE_REF,
                "missing_uses": [u for u in DATASET_USES if u not in LICENSE_GRANTS],
                "records": sum(len(active[f]) for f in licensed_files),
                "files": licensed_files,
            }
        ],
        "expired": [],
    }

    def seeds(b: Batch) -> set[str]:
        """The real (non-synthetic) batches a batch descends from."""
        if b.source != "synthetic":
            return {b.file}
        return set().union(*(seeds(by_file[p]) for p in b.derived_from))

    def depth(b: Batch) -> int:
        if b.source != "synthetic":
            return 0
        return 1 + max((depth(by_file[p]) for p in b.derived_from), default=0)

    synthetic_batches = [b for b in batches if b.source == "synthetic"]
    synthetic = {
        "records": blend["synthetic"]["records"],
        "share": blend["synthetic"]["share"],
        "unanchored_batches": [b.file for b in synthetic_batches if not seeds(b)],
        "max_generation_depth": max(depth(b) for b in synthetic_batches),
        "depth": {b.file: depth(b) for b in synthetic_batches},
    }

    contract_from = date.fromisoformat(LICENSE_EFFECTIVE)
    consent_from = {CONSENT_V1: date(2022, 3, 1), CONSENT_V2: date(2025, 1, 15)}

    def level(b: Batch) -> str:
        collected = date.fromisoformat(b.collected_at[:10]) if b.collected_at else None
        if b.source == "synthetic":
            found = [level(by_file[f]) for f in seeds(b)]
            order = ["provable", "documented", "unknown"]
            return max(found, key=order.index) if found else "unknown"
        if b.license and collected and collected >= contract_from:  # contract hash recorded
            return "provable"
        if b.consent and collected:
            later = [v for v, start in consent_from.items() if v > b.consent]
            in_force = collected >= consent_from[b.consent] and all(
                collected < consent_from[v] for v in later
            )
            if in_force:
                return "provable"
        return "documented" if b.origin and collected else "unknown"

    levels = dict.fromkeys(("provable", "documented", "unknown"), 0)
    for b in batches:
        levels[level(b)] += len(active[b.file])
    provenance = {
        "certainty": round((levels["provable"] + levels["documented"] / 2) / total, 4),
        "levels": levels,
        "by_file": {b.file: level(b) for b in batches},
    }

    train_texts = {
        normalise_text(r[b.text_field])
        for b in batches
        if b.split == "train"
        for r in active[b.file]
    }
    cross_split = sum(
        1
        for b in batches
        if b.split != "train"
        for r in active[b.file]
        if normalise_text(r[b.text_field]) in train_texts
    )
    all_texts = [normalise_text(r[b.text_field]) for b in batches for r in active[b.file]]
    contamination = {
        "cross_split_records": cross_split,
        "duplicate_records": len(all_texts) - len(set(all_texts)),
    }

    cost = {}
    for source in SOURCES:
        amount = sum(b.cost or 0.0 for b in batches if b.source == source)
        usable = blend[source]["records"]
        cost[source] = {
            "cost": amount,
            "usable_records": usable,
            "cost_per_usable_record": round(amount / usable, 6),
        }

    direct = [f for f, n in erased_per_file.items() if n]
    derived: list[str] = []
    for b in batches:  # parents come first, so one pass reaches every depth
        if b.file not in direct and any(p in direct or p in derived for p in b.derived_from):
            derived.append(b.file)
    erasure = {
        "subject": ERASE_CUSTOMER,
        "request": ERASE_REQUEST,
        "requests": 1,
        "erased_records": total_before - total,
        "rebuild": {f: n for f, n in erased_per_file.items() if n},
        "lineage": {"direct": direct, "derived": derived, "models": [MODEL]},
    }

    def shingles(text: str) -> set[str]:
        words = normalise_text(text).split(" ")
        if len(words) < 5:
            return {" ".join(words)}
        return {" ".join(words[i : i + 5]) for i in range(len(words) - 4)}

    def diversity(b: Batch) -> float:
        """Share of the batch's active records with no earlier record of the batch at word
        5-gram Jaccard >= 0.8 (the audit estimates the same from its sketches)."""
        sets = [shingles(r[b.text_field]) for r in active[b.file]]
        fresh = sum(
            1
            for i, x in enumerate(sets)
            if not any(len(x & y) >= 0.8 * len(x | y) for y in sets[:i])
        )
        return fresh / len(sets)

    # SYNTHETIC_COLLAPSE: diversity below half the mean of the real seeds'.
    collapsed = [
        b
        for b in synthetic_batches
        if seeds(b)
        and diversity(b) < 0.5 * sum(diversity(by_file[f]) for f in seeds(b)) / len(seeds(b))
    ]
    by_code = {
        "LICENSE_SCOPE": licenses["violations"][0]["records"],
        "CONSENT_NONCOMPLIANT": consent["noncompliant"],
        "ERASURE_PENDING": erasure["erased_records"],
        "CONSENT_DRIFT": consent["superseded"],
        "SYNTHETIC_UNANCHORED": sum(len(active[f]) for f in synthetic["unanchored_batches"]),
        "CONTAMINATION": contamination["cross_split_records"],
        "SYNTHETIC_DEPTH": sum(len(active[b.file]) for b in synthetic_batches if depth(b) >= 2),
        "DUPLICATES": contamination["duplicate_records"],
        "SYNTHETIC_COLLAPSE": sum(len(active[b.file]) for b in collapsed),
    }
    return {
        "dataset": DATASET,
        # Disclosures count what the ledger holds: AB 2013 covers every split, references too.
        "disclosure": disclosure_figures(every_batch),
        "records_before_erasure": total_before,
        "records": total,
        "files": {
            b.file: {
                "source": b.source,
                "split": b.split,
                "records": len(b.records),
                "erased": erased_per_file.get(b.file, 0),
            }
            for b in every_batch
        },
        "blend": blend,
        "provenance": provenance,
        "consent": consent,
        "licenses": licenses,
        "synthetic": synthetic,
        "contamination": contamination,
        "erasure": erasure,
        "cost": cost,
        "findings": {code: n for code, n in by_code.items() if n},
    }


def disclosure_figures(batches: list[Batch]) -> dict[str, Any]:
    """What the EU summary and the AB 2013 page of the model must say, counted here.

    - words: whitespace-separated words of each record's normalised text field
      (``normalise_text(text).split()``), bytes: the field's UTF-8 bytes; tokens are
      words (the ledger's ``whitespace-words``);
    - the EU summary covers the train split, every registered record (erasure later does
      not change what the model was trained on); AB 2013 covers every split;
    - statuses: a value the organisation profile (profile.json) gives is declared, one it
      leaves out is missing, everything else comes from the ledger.
    """
    words = {
        b.file: sum(len(normalise_text(r[b.text_field]).split()) for r in b.records)
        for b in batches
    }
    size = {b.file: sum(len(r[b.text_field].encode("utf-8")) for r in b.records) for b in batches}
    train = [b for b in batches if b.split == "train"]
    tokens = sum(words[b.file] for b in train)
    synthetic = [b for b in batches if b.source == "synthetic"]
    registered = sum(len(b.records) for b in batches)
    low = 10 ** (len(str(registered)) - 1)
    declared_eu = {
        "1.1 provider_name", "1.1 provider_contact", "1.2 model_version",
        "1.2 model_dependencies", "1.2 placed_on_market", "2.3 purposes", "2.3 behaviour",
        "3.1 measures",
    }  # fmt: skip
    eu_fields = [
        "1.1 provider_name", "1.1 provider_contact", "1.2 model_name", "1.2 model_version",
        "1.2 model_dependencies", "1.2 placed_on_market", "1.2 training_datasets",
        "1.3 modalities", "1.3 size_text", "1.3 size_image", "1.3 size_audio",
        "1.3 size_video", "1.3 latest_acquisition", "1.3 languages", "2.1 used",
        "2.1 large_datasets", "2.2.1 used", "2.2.1 licenses", "2.2.2 used", "2.2.2 sources",
        "2.3 used", "2.3 crawlers", "2.3 purposes", "2.3 behaviour", "2.3 collection_period",
        "2.3 top_domains", "2.4 this_service", "2.4 other_services", "2.5 used",
        "2.5 generating_models", "2.5 model_terms", "2.6 used", "2.6 description",
        "3.1 protocols", "3.1 coverage", "3.1 reserved", "3.1 measures", "3.2 measures",
    ]  # fmt: skip
    eu_status = {
        f: "declared" if f in declared_eu else "missing" if f == "3.2 measures" else "ledger"
        for f in eu_fields
    }
    ca_keys = [
        ("1", "sources"), ("2", "purpose"), ("3", "data_points"), ("4", "types"),
        ("5", "copyright"), ("5", "trademark_patent"), ("6", "purchased_licensed"),
        ("7", "personal_information"), ("8", "aggregate_consumer"), ("9", "processing"),
        ("10", "period"), ("10", "ongoing"), ("11", "first_used"), ("12", "synthetic"),
    ]  # fmt: skip
    ca_declared = {"purpose", "trademark_patent", "aggregate_consumer", "ongoing"}
    ca_status = {
        f"{sid} {key}:{DATASET}": "declared" if key in ca_declared else "ledger"
        for sid, key in ca_keys
    }
    licensed = [b for b in batches if b.license]
    crawled = [b for b in batches if b.source == "scraped"]
    rest = [b for b in batches if b not in licensed and b not in crawled]
    dates = sorted(b.collected_at for b in batches if b.collected_at)
    return {
        "words": words,
        "bytes": size,
        "eu": {
            "status": eu_status,
            "tokens": tokens,
            "size_text": "Less than 1 billion tokens" if tokens < 10**9 else "see the template",
            "modalities": ["text"],
            "latest_acquisition": max(b.collected_at or "" for b in train),
            "languages": ["en"],
            "crawlers": ["LarkspurBot"],
            "crawled_records": sum(len(b.records) for b in train if b.source == "scraped"),
            "collection_period": "2025-11-03 to 2025-11-03",
            "top_domains": ["community.example.org"],
            "licensed_records": sum(len(b.records) for b in train if b.source == "licensed"),
            "user_records": sum(len(b.records) for b in train if b.source == "first_party"),
            "synthetic_records": sum(len(b.records) for b in train if b.source == "synthetic"),
            "generating_models": sorted({b.metadata["generator_model"] for b in synthetic}),
            "model_terms": sorted({b.metadata["generator_terms"] for b in synthetic}),
            "coverage": "1 of 1",
        },
        "ab2013": {
            "status": ca_status,
            "records": registered,
            "data_points": f"{low:,} to {low * 10 - 1:,}",
            "types": sorted({f"text ({b.split})" for b in batches}),
            "copyright": [
                f"Copyrighted material used under license ({LICENSE_REF}): "
                f"{sum(len(b.records) for b in licensed)} records",
                "Publicly available or crawled material whose copyright status is not "
                f"established: {sum(len(b.records) for b in crawled)} records",
                "The provider's own, user-provided or synthetic material: "
                f"{sum(len(b.records) for b in rest):,} records",
            ],
            "personal_information_records": sum(
                len(b.records) for b in batches if b.subject_field is not None
            ),
            "period": f"{dates[0]} to {dates[-1]}",
            "synthetic_records": sum(len(b.records) for b in synthetic),
        },
    }


# -- writing -------------------------------------------------------------------------------
def dump_jsonl(records: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")


def dump_csv(records: list[dict[str, Any]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=list(records[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue().encode("utf-8")


def dump_parquet(records: list[dict[str, Any]]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist(records)
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd", store_schema=False)
    return sink.getvalue()


def dump_json(value: Any) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def files(batches: list[Batch]) -> dict[str, bytes]:
    """Relative path -> content of every generated file."""
    out: dict[str, bytes] = {}
    for b in batches:
        if b.file.endswith(".csv"):
            out[b.file] = dump_csv(b.records)
        elif b.file.endswith(".parquet"):
            out[b.file] = dump_parquet(b.records)
        else:
            out[b.file] = dump_jsonl(b.records)
    contract = CONTRACT.encode("utf-8")
    out["licensed/contract.txt"] = contract
    for name, manifest in manifests(hashlib.sha256(contract).hexdigest()).items():
        out[name] = dump_json(manifest)
    plan = demo_plan()
    plan["batches"] = [b.spec() for b in batches]
    out["batches.json"] = dump_json(plan)
    out["README.md"] = readme(batches, expected_figures(batches)).encode("utf-8")
    return out


def parquet_rows(data: bytes) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    return pq.read_table(io.BytesIO(data)).to_pylist()


def same(path: str, a: bytes, b: bytes) -> bool:
    """Parquet bytes carry the writer's version, so Parquet files compare by rows."""
    if path.endswith(".parquet"):
        return parquet_rows(a) == parquet_rows(b)
    return a == b


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=HERE, help="where to write (default: here)")
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    generated = files(build())
    if args.check:
        stale = [
            p
            for p, data in generated.items()
            if not (args.out / p).exists() or not same(p, (args.out / p).read_bytes(), data)
        ]
        for p in stale:
            print(f"stale: {p}", file=sys.stderr)
        return 1 if stale else 0
    for path, data in generated.items():
        target = args.out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists() and same(path, target.read_bytes(), data):
            continue
        target.write_bytes(data)
        print(f"wrote {target}")
    return 0


# -- README ------------------------------------------------------------------------------
def readme(batches: list[Batch], fig: dict[str, Any]) -> str:
    """README.md: the story, the files, and every figure the demo's audit must show."""
    rows = []
    for b in batches:
        under = (
            b.license
            or b.consent
            or ("from " + ", ".join(b.derived_from) if b.derived_from else "")
        )
        if b.source == "synthetic" and not b.derived_from:
            under = "no seed data"
        rows.append(
            f"| `{b.file}` | {b.source} | {b.split} | {len(b.records)} | {under or '-'} | "
            f"{'-' if b.cost is None else f'{b.cost:,.2f}'} | {b.note} |"
        )
    blend = fig["blend"]
    consent = fig["consent"]
    violation = fig["licenses"]["violations"][0]
    syn = fig["synthetic"]
    con = fig["contamination"]
    era = fig["erasure"]
    erased_files = ", ".join(
        f"{info['erased']} in `{f}`" for f, info in fig["files"].items() if info["erased"]
    )
    blend_rows = "\n".join(
        f"| {source} | {v['records']} | {v['share']:.4f} | {v['batches']} |"
        for source, v in blend.items()
    )
    prov = fig["provenance"]
    levels = prov["levels"]
    unanchored = ", ".join(f"`{f}`" for f in syn["unanchored_batches"])
    direct = ", ".join(f"`{f}`" for f in era["lineage"]["direct"])
    derived = ", ".join(f"`{f}`" for f in era["lineage"]["derived"])
    cost_text = "; ".join(
        f"{source} {v['cost']:,.2f} / {v['usable_records']} = {v['cost_per_usable_record']:.4f}"
        for source, v in fig["cost"].items()
    )
    block = json.dumps(fig, indent=2, ensure_ascii=False)
    return f"""\
# The worked example: Larkspur's support-ticket classifier

<!-- Generated by sample_datasets/generate.py; edit that script, not this file. -->

Larkspur sells "Larkspur Drive", file sync and backup for small businesses. Its support
team is training a classifier that routes incoming tickets (billing, account access, sync,
sharing, performance, data recovery, integrations, feature requests, escalations, security).
The model ships inside the on-premises edition, so the dataset is `customer_facing` and its
intended uses are `train` and `external_release`. Its training data is a portfolio of all
four kinds of source, each with its signature failure:

| file | source | split | records | registered under | cost | what it is |
|---|---|---|---|---|---|---|
{chr(10).join(rows)}

- `license.json`: the Meridian corpus license, granting `train` and `evaluate` only;
  `document_sha256` is the SHA-256 of `licensed/contract.txt`
  (`sha256sum sample_datasets/licensed/contract.txt`).
- `consent-v1.json`, `consent-v2.json`: support-tos v1 permits `train` and `evaluate`;
  v2 widens that to `synthetic_seed`, `external_release` and `commercial` and marks
  version 1 `reconsent_required`. Neither sets a retention period, so no figure here
  changes with the calendar.
- `dataset.json`: the dataset `{DATASET}`.
- `profile.json`: Larkspur's organisation profile (provider, contact, intended purpose,
  crawler purposes, opt-out measures ...), which the disclosures take declared values from.
  It leaves out the measures to remove illegal content, so the EU summary lists that one
  value under "Declare before publishing".
- `batches.json`: how the demo registers each file (the `provledger register` options),
  the model it registers and the deletion request it answers.

Customer `{ERASE_CUSTOMER}` wrote {fig["files"]["first_party/tickets_2024.csv"]["erased"]}
tickets in 2024 and {fig["files"]["first_party/tickets_2025.jsonl"]["erased"]} in 2025, and
two of those tickets seeded synthetic escalations (`seed_customer_id`). The demo answers
their deletion request `{ERASE_REQUEST}` after registering model `{MODEL}`: the erasure
reaches {era["erased_records"]} records ({erased_files}), and every figure below counts
active records only, after the erasure ({fig["records_before_erasure"]} records were
registered, {fig["records"]} remain active).

## What the audit shows, and why

| source | records | share | batches |
|---|---|---|---|
{blend_rows}

- **Scraped: contamination.** Six forum posts are cross-posted duplicates; six 2025 tickets
  were copied verbatim into the test split. `duplicate_records` (active records minus
  distinct normalised texts, the leaked copies included) = {con["duplicate_records"]}
  (`DUPLICATES`); `cross_split_records` (test records whose text is also in train) =
  {con["cross_split_records"]} (`CONTAMINATION`).
- **Licensed: scope creep.** The dataset's uses include `external_release`, which the
  license does not grant: {violation["records"]} records of `{violation["license"]}` violate
  it (`LICENSE_SCOPE`).
- **First party: consent drift.** {consent["records"]} records carry consent:
  {consent["current"]} under the current version, {consent["superseded"]} under superseded
  `{CONSENT_V1}` (`CONSENT_DRIFT`); v2 requires re-consent for v1 (and v1 does not permit
  `external_release`), so those {consent["noncompliant"]} are non-compliant
  (`CONSENT_NONCOMPLIANT`).
- **Synthetic: collapse.** {syn["records"]} synthetic records ({syn["share"]:.4f} of the
  dataset). {unanchored} has no seed data, so {len(syn["unanchored_batches"])} batch is
  unanchored (`SYNTHETIC_UNANCHORED`, {fig["findings"]["SYNTHETIC_UNANCHORED"]} records);
  `synthetic/security_paraphrases.jsonl` rewrites synthetic records, so the maximum
  generation depth is {syn["max_generation_depth"]} (`SYNTHETIC_DEPTH`,
  {fig["findings"]["SYNTHETIC_DEPTH"]} records).
- **Provenance.** {levels["provable"]} records are provable (the licensed corpus, whose
  contract hash is recorded and which was in force when delivered; first-party tickets under
  the consent version in force when collected; synthetic batches seeded only from those),
  {levels["documented"]} documented (the forum crawl: origin and date, no rights evidence)
  and {levels["unknown"]} unknown (the unseeded synthetic batch): certainty
  ({levels["provable"]} + {levels["documented"]} / 2) / {fig["records"]} =
  {prov["certainty"]:.4f}.
- **Erasure.** One request, {era["erased_records"]} records erased (`ERASURE_PENDING`): the
  files holding them must be rebuilt without them. Lineage reaches {direct} directly,
  {derived} by derivation, and model `{MODEL}`.
- **Cost per usable record** (batch costs over active records): {cost_text}.

## What the disclosures show

After the audit the demo publishes the model's EU training-content summary and its
California AB 2013 page (`provledger disclose {MODEL} --template eu-gpai-summary` and
`--template ca-ab2013`). Each batch declares its acquisition channel, language (`en`),
processing, and for the crawl its crawler (`LarkspurBot`) and the opt-out checks made
(`opt_out` in `batches.json`); every record's words and bytes are counted at registration.
The EU summary covers the {fig["disclosure"]["eu"]["tokens"]:,} whitespace-word tokens of
the train split ("{fig["disclosure"]["eu"]["size_text"]}"); the AB 2013 page counts
{fig["disclosure"]["ab2013"]["records"]:,} data points in every split
("{fig["disclosure"]["ab2013"]["data_points"]}"), collected
{fig["disclosure"]["ab2013"]["period"]}. The status of every field is in the block below
(`disclosure.eu.status`, `disclosure.ab2013.status`).

## Expected figures

`tests/test_demo.py` runs the demo on a fresh ledger and checks its audit JSON against
this block; the generator counts these figures from the records it writes, independently
of the ledger's code.

<!-- expected-figures -->
```json
{block}
```

## Regenerating

```
python sample_datasets/generate.py           # rewrite every file here (seeded, offline)
python sample_datasets/generate.py --check   # exit 1 when a committed file is stale
```
"""


if __name__ == "__main__":
    sys.exit(main())
