#!/usr/bin/env python3
"""The measuring half of scripts/bench-web-api (which seeds the database and starts the
API): request classes, the Postgres baseline, the wrk mix, memory, and the table.

Search classes (each a sample of queries drawn from the seed's known vocabulary):
  broad     a term in 25-50 % of offers ('data', 'personal', ...)
  medium    a title or everyday word, in about 1-10 % of offers
  rare      a made-up word of Zipf rank 1 000-20 000: tens to hundreds of offers
  two-term  two words (OR, ranked by the sum, as the API does)
  filtered  a medium word with a tag, an asset or a price range
The mix adds filter-only listings (plain SQL with keyset pagination) and detail reads.

The baseline runs the same searches in Postgres as an API without tantivy would:
tsvector @@ tsquery on the GIN index, ORDER BY ts_rank, the first page of 20 active
offers, with the same filters, through pgbench (one connection, prepared statements).

Last, the floors: HTTP alone (a 404 answered without the database), GET /healthz (HTTP and
one Postgres round trip, as every page of offers makes) and SELECT 1 through pgbench,
beside 10x under Postgres's rare-word median.
"""

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

BROAD = ["data", "personal", "dataset", "collected", "kabatana"]
MEDIUM = ["glucose", "thermostat", "podcast", "commute", "receipts", "insulin", "cycling",
          "lisbon", "nairobi", "annotated", "smartwatch", "playlist", "budget", "kitchen",
          "headache", "pollen", "cadence", "humidity", "keyboard", "menstrual", "calendar",
          "deduplicated", "itemised", "tallinn", "mood", "medication", "elevation", "coffee",
          "ovulation", "parquet"]
TAGS = ["health", "fitness", "sleep", "shopping", "travel", "finance", "energy", "home",
        "media", "music", "reading", "food", "mood", "medical", "productivity", "learning",
        "environment", "commute", "wearable", "phone", "daily", "hourly", "raw", "cleaned"]
TOKEN = "70" * 32
SEARCH_CLASSES = ["broad", "medium", "rare", "two-term", "filtered"]
# Share of each class in the mix (%).
MIX = {"broad": 10, "medium": 10, "rare": 10, "two-term": 10, "filtered": 10,
       "listing": 20, "detail": 30}
TARGET_P99_MS = 25.0
TARGET_RPS = 2000.0
TARGET_RATIO = 10.0


def psql(url, sql):
    return subprocess.run(["psql", url, "-Atqc", sql], check=True, capture_output=True,
                          text=True).stdout.split("\n")


class Search:
    """One search: its words, its filters, its API path and its baseline SQL."""

    def __init__(self, words, tag=None, asset=None, price=None):
        self.words, self.tag, self.asset, self.price = words, tag, asset, price

    def path(self, token_ss58):
        params = [("q", " ".join(self.words))]
        if self.tag:
            params.append(("tag", self.tag))
        if self.asset:
            params.append(("asset", token_ss58))
        if self.price:
            params += [("min_price", str(self.price[0])), ("max_price", str(self.price[1]))]
        return "/v1/offers?" + urllib.parse.urlencode(params, quote_via=urllib.parse.quote)

    def sql(self):
        # OR of the words, as the API ranks them (BM25 over any of them).
        query = "to_tsquery('english', '" + " | ".join(self.words) + "')"
        where = ["search @@ q", "status = 'active'"]
        if self.tag:
            where.append(f"tags @> ARRAY['{self.tag}']")
        if self.asset:
            where.append(f"asset = '\\x{TOKEN}'::bytea")
        if self.price:
            where.append(f"price BETWEEN {self.price[0]} AND {self.price[1]}")
        return (f"SELECT id, title, price FROM offers, {query} AS q WHERE "
                + " AND ".join(where) + " ORDER BY ts_rank(search, q) DESC, id LIMIT 21;\n")


def searches(rng, rare_words):
    def filtered():
        words = [rng.choice(MEDIUM)]
        kind = rng.randrange(3)
        if kind == 0:
            return Search(words, tag=rng.choice(TAGS))
        if kind == 1:
            return Search(words, asset=True)
        low = rng.randrange(0, 900_000)
        return Search(words, price=(low, low + 100_000))

    make = {
        "broad": lambda: Search([rng.choice(BROAD)]),
        "medium": lambda: Search([rng.choice(MEDIUM)]),
        "rare": lambda: Search([rng.choice(rare_words)]),
        "two-term": lambda: Search(rng.sample(MEDIUM + BROAD[:2], 2)
                                   if rng.random() < 0.7
                                   else [rng.choice(MEDIUM), rng.choice(rare_words)]),
        "filtered": filtered,
    }
    return {name: [make[name]() for _ in range(200)] for name in SEARCH_CLASSES}


def other_paths(rng, offers, token_ss58, owner_ss58):
    def listing():
        kind = rng.randrange(6)
        if kind == 0:
            return "/v1/offers"
        if kind == 1:
            return f"/v1/offers?tag={rng.choice(TAGS)}"
        if kind == 2:
            return "/v1/offers?sort=price_asc"
        if kind == 3:
            return f"/v1/offers?asset={token_ss58}&sort=price_desc"
        if kind == 4:
            low = rng.randrange(0, 900_000)
            return f"/v1/offers?min_price={low}&max_price={low + 50_000}&sort=price_asc"
        return f"/v1/offers?owner={owner_ss58}"

    def detail():
        if rng.random() < 0.7:
            return f"/v1/offers/{rng.randrange(1, offers + 1)}"
        return f"/v1/purchases/{rng.randrange(1, offers // 3 + 1)}"

    return {"listing": [listing() for _ in range(400)], "detail": [detail() for _ in range(600)]}


LUA = """
local paths = {}
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
end
function init(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  math.randomseed(7919 * (tid or 1))
end
function request()
  return wrk.format("GET", paths[math.random(#paths)])
end
"""


def to_ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    value, unit = float(m.group(1)), m.group(2)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(base, lua, paths_file, seconds, connections, threads):
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s",
                          "--latency", "-s", lua, base, "--", paths_file],
                         check=True, capture_output=True, text=True).stdout
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    for pct in ("50", "75", "90", "99"):
        result[f"p{pct}"] = to_ms(re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M).group(1))
    errors = 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors += int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors += sum(map(int, m.groups())) if m else 0
    result["errors"] = errors
    result["requests"] = int(re.search(r"(\d+) requests in", out).group(1))
    return result


def pgbench_median_ms(url, files, seconds, work):
    prefix = os.path.join(work, "pgbench")
    for old in os.listdir(work):
        if old.startswith("pgbench."):
            os.remove(os.path.join(work, old))
    args = ["pgbench", "-n", "-c1", "-j1", f"-T{seconds}", "-M", "prepared", "-l",
            f"--log-prefix={prefix}"]
    for f in files:
        args += ["-f", f]
    subprocess.run(args + [url], check=True, capture_output=True, text=True)
    latencies = []
    for name in os.listdir(work):
        if name.startswith("pgbench."):
            with open(os.path.join(work, name)) as log:
                latencies += [int(line.split()[2]) / 1000.0 for line in log]
    return statistics.median(latencies), len(latencies)


def index_seconds(base):
    """The API's running totals of time spent in the search index: (seconds, searches)."""
    text = urllib.request.urlopen(f"{base}/metrics").read().decode()
    total = re.search(r"^web_api_search_index_seconds_sum(?:\{[^}]*\})? (\S+)", text, re.M)
    count = re.search(r"^web_api_search_index_seconds_count(?:\{[^}]*\})? (\S+)", text, re.M)
    return (float(total.group(1)), int(float(count.group(1)))) if total and count else (0.0, 0)


def rss_kib(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon"):
                fields[key] = int(value.split()[0])
    return fields


def mix_run(a, lua, mix_file, connections, ratios):
    """The mix for a.seconds at `connections`, memory sampled; prints its table and
    the targets."""
    wrk(a.base, lua, mix_file, 10, connections, a.threads)  # warm-up, not reported

    samples = []
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            samples.append((time.monotonic(), rss_kib(a.pid)))
            stop.wait(2.0)

    sampler = threading.Thread(target=sample)
    sampler.start()
    result = wrk(a.base, lua, mix_file, a.seconds, connections, a.threads)
    stop.set()
    sampler.join()
    samples.append((time.monotonic(), rss_kib(a.pid)))

    rss = [s[1]["VmRSS"] / 1024 for s in samples]
    anon = [s[1]["RssAnon"] / 1024 for s in samples]
    # Growth: the last quarter of the run against the first quarter (anonymous memory;
    # the index's mmapped files are page cache, not the process's own).
    quarter = max(1, len(anon) // 4)
    first, last = statistics.mean(anon[:quarter]), statistics.mean(anon[-quarter:])
    growth = (last - first) / first * 100
    # And the trend over the whole run (MiB per minute, least squares): a leak climbs.
    times = [t - samples[0][0] for t, _ in samples]
    slope = statistics.linear_regression(times, anon).slope * 60 if len(anon) > 2 else 0.0
    # Allocators keep a few MiB after warm-up (pool connections, statement caches); a
    # leak under this load grows by far more than that in a minute.
    steady = abs(last - first) < max(0.05 * first, 4.0)

    print(f"\nThe mix for {a.seconds} s: {connections} connections, {a.threads} wrk thread(s); "
          + ", ".join(f"{k} {v}%" for k, v in MIX.items()))
    print(f"{'requests':>9} {'req/s':>8} {'p50':>8} {'p90':>8} {'p99':>8} {'errors':>7}")
    print(f"{result['requests']:>9} {result['rps']:>8.0f} {result['p50']:>6.2f}ms "
          f"{result['p90']:>6.2f}ms {result['p99']:>6.2f}ms {result['errors']:>7}")
    print(f"API memory: RSS {rss[0]:.0f} -> {rss[-1]:.0f} MiB (max {max(rss):.0f}, with the "
          f"index's mapped files); anonymous {first:.1f} MiB in the first quarter, {last:.1f} MiB "
          f"in the last ({growth:+.1f} %), trend {slope:+.2f} MiB/min")

    checks = [
        ("p99 < 25 ms", result["p99"] < TARGET_P99_MS),
        (">= 2 000 req/s", result["rps"] >= TARGET_RPS),
        ("no errors", result["errors"] == 0),
        ("no memory growth (anonymous memory within 5 % or 4 MiB)", steady),
        ("every search class >= 10x the Postgres median",
         all(r >= TARGET_RATIO for r in ratios.values())),
    ]
    print("\nTargets: " + "; ".join(f"{what}: {'ok' if ok else 'MISSED'}" for what, ok in checks))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--connections", type=lambda v: [int(c) for c in v.split(",")],
                    default=[16], help="wrk connections for the mix; several, comma-separated, "
                    "run one after the other")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--offers", type=int, required=True)
    ap.add_argument("--class-seconds", type=int, default=5)
    a = ap.parse_args()
    rng = random.Random(42)
    work = a.work

    rare_words = psql(a.database_url, "SELECT rare_word(k) FROM generate_series(1000, 20000, 97) k")
    rare_words = [w for w in rare_words if w]
    # Accounts in SS58, as the API takes them: read back from the API itself.
    page = json.load(urllib.request.urlopen(f"{a.base}/v1/offers?status=any&limit=100"))
    token_ss58 = next(o["asset"] for o in page["offers"] if o["asset"] != "native")
    owner_ss58 = page["offers"][0]["owner"]

    classes = searches(rng, rare_words)
    paths = {name: [s.path(token_ss58) for s in items] for name, items in classes.items()}
    paths.update(other_paths(rng, a.offers, token_ss58, owner_ss58))
    lua = os.path.join(work, "paths.lua")
    with open(lua, "w") as f:
        f.write(LUA)

    def paths_file(name, lines):
        path = os.path.join(work, f"paths-{name}.txt")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    # Every request of the mix answers 200: check one of each before timing anything.
    for name, lines in paths.items():
        for p in lines[:20]:
            try:
                urllib.request.urlopen(a.base + p).read()
            except Exception as e:  # noqa: BLE001 (reported, then fatal)
                sys.exit(f"{name}: GET {p} failed: {e}")

    print("\nEach search class alone, one connection: the API end to end (HTTP, the tantivy "
          "search, the page's rows from Postgres) and its search index alone (mean), beside the "
          "same searches in Postgres (tsvector/GIN, ts_rank, first page; median)")
    print(f"{'class':<10} {'API p50':>9} {'API p99':>9} {'index':>8} {'PG median':>10} "
          f"{'PG/API':>7} {'PG/index':>9} {'PG runs':>8}  target: PG/API >= {TARGET_RATIO:.0f}x")
    ratios, pg_medians = {}, {}
    for name in SEARCH_CLASSES:
        before = index_seconds(a.base)
        api = wrk(a.base, lua, paths_file(name, paths[name]), a.class_seconds, 1, 1)
        after = index_seconds(a.base)
        index_ms = (after[0] - before[0]) / max(1, after[1] - before[1]) * 1000
        files = []
        for i, s in enumerate(classes[name][:60]):
            f = os.path.join(work, f"pg-{name}-{i}.sql")
            with open(f, "w") as out:
                out.write(s.sql())
            files.append(f)
        pg, n = pgbench_median_ms(a.database_url, files, a.class_seconds, work)
        ratios[name] = pg / api["p50"]
        pg_medians[name] = pg
        print(f"{name:<10} {api['p50']:>7.2f}ms {api['p99']:>7.2f}ms {index_ms:>6.2f}ms "
              f"{pg:>8.2f}ms {ratios[name]:>6.1f}x {pg / index_ms:>8.1f}x {n:>8}  "
              f"{'ok' if ratios[name] >= TARGET_RATIO else 'MISSED'}")

    mix = []
    for name, share in MIX.items():
        mix += [rng.choice(paths[name]) for _ in range(share * 100)]
    rng.shuffle(mix)
    mix_file = paths_file("mix", mix)
    for name in ("listing", "detail"):
        paths_file(name, paths[name])
    for connections in a.connections:
        mix_run(a, lua, mix_file, connections, ratios)

    slowest = min(ratios, key=ratios.get)
    print(f"Search class furthest from its target: {slowest} ({ratios[slowest]:.1f}x)")
    floors(a, lua, paths_file, pg_medians["rare"])


def floors(a, lua, paths_file, rare_pg_ms):
    """The least any answer costs, one connection: HTTP alone (a 404), an HTTP request
    that asks Postgres one thing (GET /healthz, SELECT 1 through the pool) and Postgres's
    own round trip (SELECT 1 through pgbench), beside what 10x under Postgres's rare-word
    median would need."""
    healthz = wrk(a.base, lua, paths_file("healthz", ["/healthz"]), a.class_seconds, 1, 1)
    # An id past i64 is no offer: answered 404 before any database work (wrk counts the
    # 404s as errors; only the latency is used).
    http = wrk(a.base, lua, paths_file("no-offer", [f"/v1/offers/{2**64 - 1}"]),
               a.class_seconds, 1, 1)
    select_1 = os.path.join(a.work, "pg-select-1.sql")
    with open(select_1, "w") as out:
        out.write("SELECT 1;\n")
    pg, _ = pgbench_median_ms(a.database_url, [select_1], a.class_seconds, a.work)
    print(f"\nFloors, one connection: HTTP alone (a 404 without the database) p50 "
          f"{http['p50']:.3f} ms; GET /healthz (HTTP and one Postgres round trip) p50 "
          f"{healthz['p50']:.3f} ms; Postgres SELECT 1 (pgbench, prepared) median {pg:.3f} ms. "
          f"10x under Postgres's rare-word median would be {rare_pg_ms / TARGET_RATIO:.3f} ms.")


if __name__ == "__main__":
    main()
