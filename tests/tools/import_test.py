#!/usr/bin/python3
"""`nextbest import` end to end, through the real binaries: a Merchant
Center XML feed, a products CSV and JSON-lines file, stock, and two years
of order history — interrupted by killing the server, then resumed.

usage: import_test.py SERVER_BIN CLI_BIN
"""
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

server_bin, cli_bin = sys.argv[1], sys.argv[2]
work = tempfile.mkdtemp(prefix="nextbest-import-")
data = os.path.join(work, "data")
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


def start():
    log = os.path.join(work, "server-%d.log" % time.monotonic_ns())
    proc = subprocess.Popen([server_bin, "--grpc_address=127.0.0.1:0", "--metrics_address=",
                             "--http_address=", "--data_dir=" + data], stderr=open(log, "w"))
    for _ in range(600):
        m = re.search(r"serving gRPC on port (\d+)", open(log).read())
        if m:
            return proc, int(m.group(1))
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    sys.exit("server did not start: " + open(log).read())


def cli(port, *args, check_rc=None):
    out = subprocess.run([cli_bin, "--target=127.0.0.1:%d" % port, "--data_dir=" + data, *args],
                         capture_output=True, text=True, timeout=600)
    if check_rc is not None and out.returncode != check_rc:
        print(out.stdout, out.stderr)
        failures.append("exit %d of %s" % (out.returncode, " ".join(args)))
    return out


def write(name, text):
    path = os.path.join(work, name)
    with open(path, "w") as f:
        f.write(text)
    return path


proc, port = start()
try:
    # -- A Merchant Center feed: RSS with the g: namespace, one bad item.
    feed = write("feed.xml", """<?xml version="1.0"?>
<rss xmlns:g="http://base.google.com/ns/1.0" version="2.0"><channel>
<item><g:id>m1</g:id><title>Tompouce</title><g:price>1.79 EUR</g:price>
  <g:product_type>Bakkerij &gt; Tompouce</g:product_type><g:brand>HEMA</g:brand>
  <g:availability>in_stock</g:availability></item>
<item><g:id>m2</g:id><g:title>Romper</g:title><g:price>7,99 EUR</g:price>
  <g:google_product_category>Baby &gt; Kleding</g:google_product_category>
  <g:size>50, 56</g:size><g:item_group_id>romper</g:item_group_id>
  <g:availability>out_of_stock</g:availability></item>
<item><g:id>m3</g:id><g:title>Bad</g:title><g:price>gratis</g:price></item>
</channel></rss>
""")
    out = cli(port, "import", "products", "--file=" + feed, "--country=NL", check_rc=3)
    check("3 read, 2 sent (created 2, updated 0, unchanged 0), 1 rejected" in out.stdout, out.stdout)
    check(re.search(r"line 10: g:price: 'gratis'", out.stdout) is not None, "the bad item's line")
    check(re.search(r"products.*2 items", out.stderr) is not None, "progress: " + out.stderr)
    out = cli(port, "import", "products", "--file=" + feed, "--country=NL", check_rc=3)
    check("(created 0, updated 0, unchanged 2)" in out.stdout, "again: unchanged " + out.stdout)
    r = json.loads(cli(port, "recommend", "--placement=homepage.populair", "--country=NL",
                       "--json", check_rc=0).stdout)
    check(r.get("items", []) == [] or all(i["product_id"] != "m2" for i in r["items"]),
          "out_of_stock m2 is not recommended")

    # -- CSV and JSON lines products, stock per market.
    products = write("products.csv", "product_id,name,category,brand,price,sizes,active\n"
                     "p1,Koffie,Koffie & thee > Koffie,HEMA,4.99,,true\n"
                     "p2,Thee,Koffie & thee/Thee,HEMA,2.49 EUR,,\n"
                     "p3,Sok,Kleding > Sokken,HEMA,3.00,S|M|L,maybe\n"
                     "p4,Mok,Wonen > Keuken,HEMA,5.50,,\n")
    out = cli(port, "import", "products", "--file=" + products, check_rc=3)
    check("4 read, 3 sent (created 3" in out.stdout and "line 4: active: 'maybe'" in out.stdout,
          out.stdout)
    changed = write("products.jsonl",
                    '{"productId":"p1","name":"Koffie bonen","categoryPath":["Koffie & thee","Koffie"],'
                    '"brand":"HEMA","price":{"amountMinor":"499","currency":"EUR"},"active":true}\n'
                    '{"productId":"p9","name":"x","price":{"amountMinor":"-5","currency":"EUR"},'
                    '"categoryPath":["X"]}\n')
    out = cli(port, "import", "products", "--file=" + changed, check_rc=3)
    check("(created 0, updated 1, unchanged 0), 1 rejected" in out.stdout and
          "line 2: products[" in out.stdout, "server refusal mapped to its line: " + out.stdout)
    stores = write("stores.csv", "store_id,country,name,city\ns1,nl,HEMA Utrecht,Utrecht\n"
                   "s2,XX,Nowhere,Nowhere\n")
    out = cli(port, "import", "stores", "--file=" + stores, check_rc=3)
    check("2 read, 1 sent (updated 1), 1 rejected" in out.stdout and "stores[" in out.stdout,
          out.stdout)
    stock = write("stock.csv", "product_id,online_country,store_id,quantity\n"
                  "p1,NL,,10\np2,NL,,0\np4,NL,,3\nnope,NL,,1\np1,,s1,4\n")
    out = cli(port, "import", "stock", "--file=" + stock, check_rc=3)
    check("5 read, 4 sent (updated 4), 1 rejected" in out.stdout and
          "line 5: levels[" in out.stdout and "unknown product 'nope'" in out.stdout, out.stdout)
    out = cli(port, "import", "stock", "--file=" + stock, "--strict")
    check(out.returncode == 5 or out.returncode == 3, "--strict stops (exit %d)" % out.returncode)

    # -- Two years of order history, 40 customers x 150 orders, time-ordered.
    start_t = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=730)
    lines = ["order_id,customer_id,time,product_id,quantity,unit_price,store_id"]
    rows = []
    for k in range(150):
        for c in range(40):
            t = start_t + dt.timedelta(days=k * 4.8, minutes=c)
            rows.append((t, "o%d-%d" % (k, c), "k%d" % c))
    rows.sort()
    for t, order, customer in rows:
        stamp = t.strftime("%Y-%m-%d %H:%M:%S")
        lines.append("%s,%s,%s,p1,1,4.99," % (order, customer, stamp))
        lines.append("%s,%s,%s,p4,2,5.50," % (order, customer, stamp))
    history = write("orders.csv", "\n".join(lines) + "\n")
    importer = subprocess.Popen(
        [cli_bin, "--target=127.0.0.1:%d" % port, "--data_dir=" + data, "import", "events",
         "--file=" + history, "--batch=50"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    checkpoint = history + ".checkpoint"
    for _ in range(600):  # kill the server once some batches are acknowledged
        if os.path.exists(checkpoint) and "records=" in open(checkpoint).read():
            if int(re.search(r"records=(\d+)", open(checkpoint).read()).group(1)) >= 500:
                break
        time.sleep(0.01)
    proc.kill()
    proc.wait()
    stdout, stderr = importer.communicate(timeout=120)
    check(importer.returncode == 14, "the import stops when the server dies (exit %d): %s" %
          (importer.returncode, stdout[-300:]))
    done = int(re.search(r"records=(\d+)", open(checkpoint).read()).group(1))
    check(0 < done < 6000, "the checkpoint holds %d acknowledged orders" % done)
    proc, port = start()
    out = cli(port, "import", "events", "--file=" + history, "--resume", check_rc=0)
    m = re.search(r"(\d+) read, (\d+) sent \(accepted (\d+), duplicates (\d+)\), (\d+) skipped", out.stdout) or \
        re.search(r"(\d+) read, (\d+) sent, (\d+) skipped \(loaded before\) \(accepted (\d+), duplicates (\d+)\)", out.stdout)
    check(m is not None and int(m.group(1)) + done == 6000, "resumed after %d: %s" % (done, out.stdout))
    check(not os.path.exists(checkpoint), "the checkpoint is removed when done")
    for customer in ["k0", "k17", "k39"]:
        p = json.loads(cli(port, "profile", "--customer=" + customer, "--json", check_rc=0).stdout)
        orders = p["features"]["orders"]
        check(orders == 150, "%s: all 150 orders of two years counted (%d)" % (customer, orders))
        check(p["features"]["tenure_days"] > 700, "%s: tenure from the backfill" % customer)
    # Importing again changes nothing (event ids are the order ids).
    out = cli(port, "import", "events", "--file=" + history, check_rc=0)
    check("(accepted 0, duplicates 6000)" in out.stdout, "re-import: " + out.stdout)
finally:
    proc.kill()
    proc.wait()
    shutil.rmtree(work, ignore_errors=True)
if failures:
    sys.exit("%d check(s) failed" % len(failures))
print("import: all checks passed")
