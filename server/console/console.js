// The nextbest marketer console: plain JavaScript, no build step. Every
// call goes to the JSON API of this same origin with the caller's token
// (kept in sessionStorage for this tab only). Pages are built with DOM
// calls and textContent, never from HTML strings.
"use strict";

const TOKEN_KEY = "nextbest.token";
const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

// ---- API ------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, body) {
    super(body && body.message ? body.message : "HTTP " + status);
    this.status = status;
    this.code = body ? body.code : undefined;
  }
}

async function api(method, path, body) {
  const headers = {};
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers["authorization"] = "Bearer " + token;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
  if (!res.ok) throw new ApiError(res.status, json);
  return json;
}

function explainError(err) {
  if (!(err instanceof ApiError)) return String(err);
  if (err.status === 401) {
    return "Not signed in, or the token was refused (HTTP 401): " + err.message;
  }
  if (err.status === 403) {
    return "This caller may not do that (HTTP 403): " + err.message;
  }
  return err.message + " (HTTP " + err.status + ")";
}

function showError(err) {
  const box = $("error");
  box.textContent = explainError(err);
  box.hidden = false;
}

function clearError() { $("error").hidden = true; $("error").textContent = ""; }

// ---- formatting -------------------------------------------------------------

const num = (v) => Number(v || 0);
function money(m) {
  if (!m) return "";
  const amount = num(m.amountMinor) / 100;
  try {
    return new Intl.NumberFormat("nl-NL", { style: "currency", currency: m.currency || "EUR" })
      .format(amount);
  } catch (e) { return amount.toFixed(2) + " " + (m.currency || ""); }
}
function when(ts) { return ts ? new Date(ts).toLocaleString() : "—"; }
function pct(x) { return (100 * x).toFixed(1) + " %"; }
function micros(seconds) {
  if (seconds === "Infinity" || seconds === Infinity) return "> 5 ms";
  return (num(seconds) * 1e6).toFixed(0) + " µs";
}
function table(headers, rows) {
  return el("table", {}, el("thead", {}, el("tr", {}, headers.map((h) => el("th", { text: h })))),
    el("tbody", {}, rows.map((r) => el("tr", {}, r.map((c) => el("td", {}, c))))));
}
function tags(list) { return el("span", { class: "tags" }, (list || []).map((t) => el("span", { text: t }))); }
function usageBar(used, cap) {
  if (!cap || num(cap) <= 0) return el("span", { class: "muted", text: used + " shown, no total cap" });
  const share = Math.min(1, num(used) / num(cap));
  const bar = el("span", { class: share >= 1 ? "bar full" : "bar" });
  bar.style.width = (share * 100).toFixed(1) + "%";
  return el("span", {}, el("span", { class: "bar-track" }, bar), used + " / " + cap);
}

// ---- recommendations ----------------------------------------------------------

// The request the console sends; its request id makes the answer
// reproducible (the same request over gRPC or curl gives the same items).
// The channel a placement is shown in, by its id's prefix.
const CHANNELS = { app: "CHANNEL_APP", newsletter: "CHANNEL_EMAIL", callcenter: "CHANNEL_CALL_CENTER" };
function channelOf(placement) { return CHANNELS[placement.split(".")[0]] || "CHANNEL_WEB"; }
function recommendRequest(placement, customer, country) {
  return { context: { placement, country: country || "", channel: channelOf(placement) },
    explain: true, requestId: "console-" + customer, preview: true };
}

function renderItems(answer) {
  const list = el("ol", { class: "items" });
  for (const item of answer.items || []) {
    const title = item.offer && item.offer.offerId ? item.offer.title || item.offer.offerId
      : item.name || item.productId;
    const li = el("li", { "data-product-id": item.productId || "",
      "data-offer-id": item.offer ? item.offer.offerId || "" : "" },
    el("b", { text: title }), " ", el("span", { class: "price", text: money(item.price) }),
    el("span", { class: "reason", text: item.reason || "" }));
    if (item.explanation) {
      li.append(el("details", {}, el("summary", { text: "why" }),
        el("pre", { text: JSON.stringify(item.explanation, null, 2) })));
    }
    list.append(li);
  }
  return list;
}

async function placementCard(placement, customer, country) {
  const card = el("div", { class: "card", "data-placement": placement }, el("h3", { text: placement }));
  try {
    const answer = await api("POST", "/v1/customers/" + encodeURIComponent(customer) + ":recommend",
      recommendRequest(placement, customer, country));
    card.append(el("div", { class: "muted", text: (answer.personalized ? "personal" : "not personal") +
      (answer.fallbackReason ? " — " + answer.fallbackReason : "") +
      " · preview (counts against no cap)" }));
    card.append(renderItems(answer));
    if (answer.explanation) {
      card.append(el("details", {}, el("summary", { text: "explanation" }),
        el("pre", { text: JSON.stringify(answer.explanation, null, 2) })));
    }
  } catch (err) {
    card.classList.add("failed");
    card.append(el("div", { class: "muted", text: explainError(err) }));
  }
  return card;
}

// ---- pages ---------------------------------------------------------------------

// P(alive), expected orders and lifetime value (README "Each customer's future").
function futureText(u) {
  if (!u) return "—";
  return "P(alive) " + Math.round(100 * num(u.pAlive)) + " % (churn risk " + u.churnRisk + ") · " +
    num(u.expectedOrders90d).toFixed(2) + " orders in 90 days · CLV " + money(u.clv) + " over " +
    u.clvMonths + " months, " + money(u.clvAtRisk) + " at risk";
}

async function customerPage(customer) {
  const out = $("customer-out");
  out.replaceChildren(el("p", { class: "muted", text: "Loading " + customer + " …" }));
  const [profile, config] = await Promise.all([
    api("GET", "/v1/customers/" + encodeURIComponent(customer) + "/profile"),
    api("GET", "/v1/config"),
  ]);
  const c = profile.customer || {};
  const f = profile.features || {};
  const s = profile.segments || {};
  const consent = c.consent || {};
  const attributes = table(["", ""], [
    ["customer", c.customerId || customer], ["country", c.country || "—"],
    ["home store", c.homeStoreId || "—"], ["language", c.language || "—"],
    ["loyalty member", c.loyaltyMember ? "yes" : "no"],
    ["consent", "personalization " + (consent.personalization ? "yes" : "no") +
      ", e-mail " + (consent.marketingEmail ? "yes" : "no")],
    ["orders", f.orders + " (" + money(f.totalSpend) + ", average " + money(f.averageOrderValue) + ")"],
    ["last seen", when(f.lastSeen)], ["events", f.events],
  ]);
  const segments = table(["", ""], [
    ["RFM", s.rfmSegment ? s.rfmSegment + " (R" + s.recency + " F" + s.frequency + " M" + s.monetary + ")" : "—"],
    ["rule segments", tags(s.ruleSegments)],
    ["behaviour", (s.behaviour || "—") + (s.behaviourPriority ? " (priority)" : "")],
    ["future", futureText(profile.future)],
    ["top categories", tags((f.topCategories || []).map((x) => x.category))],
    ["top brands", tags((f.topBrands || []).map((x) => x.brand))],
  ]);
  const recent = table(["recently viewed", "time"],
    (f.recentlyViewed || []).slice(0, 5).map((v) => [v.productId, when(v.time)]));
  const bought = table(["bought", "orders", "last", "every"],
    (f.purchaseHistory || []).slice(0, 5).map((p) => [p.productId, p.purchases, when(p.lastPurchase),
      p.typicalIntervalDays ? num(p.typicalIntervalDays).toFixed(0) + " days" : "—"]));
  const cards = el("div", { class: "cards", id: "placement-cards" });
  out.replaceChildren(
    el("div", { class: "cards" },
      el("div", { class: "card" }, el("h3", { text: "Customer" }), attributes),
      el("div", { class: "card" }, el("h3", { text: "Segments and tastes" }), segments),
      el("div", { class: "card" }, el("h3", { text: "Recent events" }), recent, bought)),
    el("h2", { text: "What every placement shows " + customer }), cards);
  const rendered = await Promise.all((config.placements || []).map(
    (p) => placementCard(p.id, customer, c.country)));
  cards.replaceChildren(...rendered);
  out.setAttribute("data-loaded", customer);
}

function barChart(rows) {  // [[label, value]]
  const max = Math.max(1, ...rows.map((r) => r[1]));
  const ns = "http://www.w3.org/2000/svg";
  const rowHeight = 22, labelWidth = 190, width = 640;
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("width", width);
  svg.setAttribute("height", rows.length * rowHeight + 8);
  rows.forEach(([label, value], i) => {
    const y = i * rowHeight + 4;
    const t = document.createElementNS(ns, "text");
    t.setAttribute("x", 0); t.setAttribute("y", y + 14); t.textContent = label;
    const r = document.createElementNS(ns, "rect");
    r.setAttribute("x", labelWidth); r.setAttribute("y", y + 2);
    r.setAttribute("width", Math.max(1, (width - labelWidth - 70) * value / max));
    r.setAttribute("height", rowHeight - 6); r.setAttribute("fill", "#4a6cf7");
    const v = document.createElementNS(ns, "text");
    v.setAttribute("x", labelWidth + (width - labelWidth - 70) * value / max + 6);
    v.setAttribute("y", y + 14); v.textContent = String(value);
    svg.append(t, r, v);
  });
  return svg;
}

async function segmentsPage() {
  const r = await api("GET", "/v1/segments");
  const segs = r.segments || [];
  const cuts = (xs, f) => (xs || []).map(f).join(" · ") || "—";
  $("segments-out").replaceChildren(
    el("p", {}, "Customers with a purchase (RFM population): " + r.rfmPopulation +
      " · models built " + when(r.builtAt)),
    barChart(segs.map((x) => [x.segment + " (" + x.kind + ")", num(x.customers)])),
    table(["segment", "kind", "customers"], segs.map((x) => [x.segment, x.kind, x.customers])),
    el("h2", { text: "RFM cut points (between quintiles)" }),
    table(["", "cuts"], [
      ["recency (days)", cuts(r.recencyDaysCuts, (x) => num(x).toFixed(1))],
      ["frequency (orders)", cuts(r.frequencyCuts, (x) => num(x).toFixed(0))],
      ["monetary (€)", cuts(r.monetaryCuts, (x) => (num(x) / 100).toFixed(2))],
    ]),
    el("h2", { text: "Behaviour groups" }),
    el("p", {}, "Priority customers: " + r.behaviourPriority + " · top current spend cut " +
      num(r.topCurrentSpendCut).toFixed(0) + " · median baseline spend " +
      num(r.medianBaselineSpend).toFixed(0)),
    el("h2", { text: "Purchase (BG/NBD) and value (Gamma-Gamma) models" }),
    table(["model", "customers", "r", "alpha (days)", "a", "b", "p", "q", "gamma (cents)"],
      (r.customerValueModels || []).map((m) => [m.market || "everyone", m.customers,
        num(m.r).toFixed(3), num(m.alpha).toFixed(1), num(m.a).toFixed(3), num(m.b).toFixed(3),
        num(m.p).toFixed(2), num(m.q).toFixed(2), num(m.gamma).toFixed(0)])));
}

async function offersPage() {
  const config = await api("GET", "/v1/config");
  $("offers-out").replaceChildren(table(
    ["offer", "window", "eligibility", "placements", "total cap", "per customer", "clicks / impressions", "propensity"],
    (config.offers || []).map((o) => [
      el("span", {}, el("b", { text: o.id }), el("br"), o.type + " · " + o.title),
      (o.start ? when(o.start) : "open") + " → " + (o.end ? when(o.end) : "open") +
        (o.activeNow ? "" : " (not now)"),
      el("code", { text: o.eligibility || "everyone" }),
      tags(o.placements),
      usageBar(num(o.served), num(o.totalCap)),
      o.perCustomerCap ? o.perCustomerCap + " per " + num(o.capPeriodDays).toFixed(0) + " days" : "—",
      o.clicks + " / " + o.impressions,
      pct(num(o.propensity)),
    ])));
}

async function placementsPage() {
  const config = await api("GET", "/v1/config");
  const out = $("placements-out");
  out.replaceChildren(el("p", { class: "muted", text: "Config version " + config.version }));
  for (const p of config.placements || []) {
    const result = el("div");
    const input = el("input", { placeholder: "customer id", "aria-label": "customer id for " + p.id });
    const form = el("form", { class: "inline" }, input, el("button", { type: "submit", text: "Try it" }));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      clearError();
      result.replaceChildren(await placementCard(p.id, input.value.trim(), ""));
    });
    out.append(el("div", { class: "card", "data-placement": p.id },
      el("h3", { text: p.id }),
      el("p", {}, "sources: ", tags(p.sources), " · " + p.defaultCount + " items by default, at most " + p.maxCount),
      el("details", {}, el("summary", { text: "config" }), el("pre", { class: "config", text: p.configText })),
      form, result));
  }
  const reports = $("experiments-out");
  if (!(config.experiments || []).length) {
    reports.replaceChildren(el("p", { class: "muted", text: "No experiments configured." }));
    return;
  }
  reports.replaceChildren();
  for (const id of config.experiments) {
    const r = await api("GET", "/v1/experiments/" + encodeURIComponent(id) + "/report");
    for (const e of r.experiments || []) {
      reports.append(el("h3", { text: e.experimentId + " on " + (e.placement || "every placement") +
        (e.running ? " (running)" : "") + (e.srmAlarm ? " — sample ratio mismatch!" : "") }),
      table(["variant", "customers", "exposed", "clicks", "converting", "orders", "revenue"],
        (e.variants || []).map((v) => [v.variant + (v.control ? " (control)" : ""), v.assignedCustomers,
          v.exposedCustomers, v.clicks, v.convertingCustomers, v.orders,
          money({ amountMinor: v.revenueMinor, currency: "EUR" })])));
    }
  }
}

let lastStatus = null;
let healthTimer = null;
async function healthPage() {
  const s = await api("GET", "/v1/status");
  const rate = (field) => {
    if (!lastStatus) return "—";
    const dt = (Date.parse(s.now) - Date.parse(lastStatus.now)) / 1000;
    return dt > 0 ? ((num(s[field]) - num(lastStatus[field])) / dt).toFixed(1) + " /s" : "—";
  };
  const figure = (label, value, note) => el("div", { class: "figure" }, label, el("b", { text: value }),
    el("span", { class: "muted", text: note || "" }));
  $("health-out").replaceChildren(el("div", { class: "figures" },
    figure("config version", s.configVersion),
    figure("customers in memory", s.customersInMemory),
    figure("products", s.products),
    figure("events stored", s.eventsAccepted, "ingest " + rate("eventsAccepted")),
    figure("Recommend calls", s.recommendCalls, rate("recommendCalls")),
    figure("decision p50", micros(s.decisionP50Seconds), "since start"),
    figure("decision p99", micros(s.decisionP99Seconds), "since start"),
    figure("models built", when(s.modelsBuiltAt)),
    figure("up since", when(s.startedAt))));
  lastStatus = s;
}

// ---- navigation -----------------------------------------------------------------

const PAGES = { customer: null, segments: segmentsPage, offers: offersPage,
  placements: placementsPage, health: healthPage };

async function show(page) {
  if (!(page in PAGES)) page = "customer";
  clearError();
  clearInterval(healthTimer);
  for (const p of Object.keys(PAGES)) $("page-" + p).hidden = p !== page;
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("active", a.dataset.page === page);
  if (!PAGES[page]) return;
  try {
    await PAGES[page]();
    if (page === "health") healthTimer = setInterval(() => healthPage().catch(showError), 5000);
  } catch (err) { showError(err); }
}

function updateSignedIn() {
  const signedIn = !!sessionStorage.getItem(TOKEN_KEY);
  $("token").hidden = signedIn;
  $("signin").querySelector("button[type=submit]").hidden = signedIn;
  $("signed-in").hidden = !signedIn;
}

document.addEventListener("DOMContentLoaded", () => {
  $("signin").addEventListener("submit", (e) => {
    e.preventDefault();
    const t = $("token").value.trim();
    if (t) sessionStorage.setItem(TOKEN_KEY, t);
    $("token").value = "";
    updateSignedIn();
    show(location.hash.slice(1));
  });
  $("signout").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    updateSignedIn();
  });
  $("customer-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    clearError();
    const id = $("customer-id").value.trim();
    history.replaceState(null, "", "#customer/" + encodeURIComponent(id));
    try { await customerPage(id); } catch (err) {
      $("customer-out").replaceChildren();
      showError(err);
    }
  });
  window.addEventListener("hashchange", () => show(location.hash.slice(1).split("/")[0]));
  updateSignedIn();
  const [page, arg] = location.hash.slice(1).split("/");
  show(page);
  if (page === "customer" && arg) {
    $("customer-id").value = decodeURIComponent(arg);
    $("customer-form").requestSubmit();
  }
});
