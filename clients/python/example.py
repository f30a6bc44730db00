#!/usr/bin/python3
"""The Python client, notebook style: ask for recommendations, send an
event, see the answer change, and plot the segment sizes.

    PYTHONPATH=build/release/python python3 clients/python/example.py \
        --target=127.0.0.1:50051 --token_file=data/admin_token --plot=segments.png
"""
import argparse

import matplotlib
matplotlib.use("Agg")  # files, no display
import matplotlib.pyplot as plt

from nextbest import Client, NextbestError, OrderLine

ap = argparse.ArgumentParser()
ap.add_argument("--target", default="127.0.0.1:50051")
ap.add_argument("--token_file", default="data/admin_token")
ap.add_argument("--customer", default="c1")
ap.add_argument("--plot", default="segments.png")
args = ap.parse_args()

nb = Client(args.target, token=open(args.token_file).read().strip())

# In [1]: what the homepage shows the customer, and why
answer = nb.recommend(args.customer, "homepage.speciaal_voor_jou", count=5, explain=True)
print(f"Speciaal voor jou for {args.customer} "
      f"({'personal' if answer.personalized else 'not personal'}):")
for item in answer.items:
    print(f"  {item.product_id:6} {item.name:40.40} {item.price.amount_minor / 100:7.2f}  {item.reason}")

# In [2]: the profile behind it
profile = nb.profile(args.customer)
print(f"RFM segment {profile.segments.rfm_segment}, {profile.features.orders} orders, "
      f"top categories: {[c.category for c in profile.features.top_categories[:3]]}")

# In [3]: a view and a purchase, then "Door jou bekeken" again
first = answer.items[0].product_id if answer.items else "p1"
nb.track(args.customer, "view", product=first, channel="app")
bought = nb.track(args.customer, "purchase", channel="web",
                  lines=[OrderLine(first, 1, answer.items[0].price.amount_minor if answer.items else 100)])
print(f"recorded: {bought.accepted} accepted")
viewed = nb.recommend(args.customer, "homepage.door_jou_bekeken", count=3)
print("Door jou bekeken now starts with:", [i.product_id for i in viewed.items])

# In [4]: a refused call says which field is wrong
try:
    nb.recommend(args.customer, "no.such.placement")
except NextbestError as e:
    print("refused as expected:", e.code.name, "-", e.message)

# In [5]: segment sizes, plotted
segments = nb.segments()
rows = [(s.segment, s.customers) for s in segments.segments if s.kind == "rfm"]
fig, ax = plt.subplots(figsize=(8, 4))
ax.barh([r[0] for r in rows][::-1], [r[1] for r in rows][::-1], color="#4a6cf7")
ax.set_xlabel("customers")
ax.set_title(f"RFM segments ({segments.rfm_population} customers with a purchase)")
fig.tight_layout()
fig.savefig(args.plot)
print(f"plotted {len(rows)} segments to {args.plot}")
