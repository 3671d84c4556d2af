// PromoLedger operations dashboard: reads the reporting API with the key the user gives.
// The key stays in this tab (sessionStorage); a "#key=..." fragment is taken and removed from the
// address bar, so it never reaches a server log. Charts: Plotly, served by the app itself.
"use strict";

const KEY = "promoledger.key";
const $ = (selector) => document.querySelector(selector);
const PALETTE = ["#3559e0", "#1f9d6b", "#d9822b", "#d64545", "#7b61ff", "#0fa3b1", "#8d99ae"];

function takeKeyFromFragment() {
  const match = /(?:^#|&)key=([^&]+)/.exec(location.hash);
  if (match) {
    sessionStorage.setItem(KEY, decodeURIComponent(match[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }
  return sessionStorage.getItem(KEY);
}

async function api(path) {
  const response = await fetch(path, {headers: {Authorization: "Bearer " + sessionStorage.getItem(KEY)}});
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(body.detail || response.statusText);
    error.status = response.status;
    error.code = body.code;
    throw error;
  }
  return body;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "class") node.className = value;
    else if (name === "style") node.style.cssText = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function money(amount, currency) {
  try {
    return new Intl.NumberFormat(undefined, {style: "currency", currency}).format(amount / 100);
  } catch (_) {
    return `${amount} ${currency}`;
  }
}

function status(text, isError = false) {
  const node = $("#status");
  node.textContent = text;
  node.className = "status" + (isError ? " error" : "");
}

function sum(lines, pick) {
  return lines.reduce((total, line) => total + pick(line), 0);
}

const LAYOUT = {margin: {l: 40, r: 10, t: 10, b: 40}, paper_bgcolor: "rgba(0,0,0,0)",
                plot_bgcolor: "rgba(0,0,0,0)", font: {family: "system-ui, sans-serif", size: 12},
                legend: {orientation: "h", y: -0.2}};
const CONFIG = {displayModeBar: false, responsive: true};

function plot(id, traces, layout = {}) {
  const target = document.getElementById(id);
  if (!traces.length || traces.every((t) => !(t.x || t.values || []).length)) {
    target.replaceChildren(el("p", {class: "muted"}, "Nothing yet."));
    return;
  }
  target.replaceChildren();
  Plotly.newPlot(target, traces, {...LAYOUT, ...layout}, CONFIG);
}

function renderKpis(campaigns, flags) {
  const totals = campaigns.flatMap((c) => c.totals);
  const currencies = [...new Set(totals.map((t) => t.currency))];
  const discount = currencies.map((cur) => money(sum(totals.filter((t) => t.currency === cur), (t) => t.discount), cur));
  const kpis = [
    ["Live campaigns", campaigns.filter((c) => c.campaign.status === "active").length],
    ["Redemptions", sum(totals, (t) => t.net_redeemed)],
    ["Discount given", discount.join(" · ") || "0"],
    ["Open fraud flags", flags.counts.open || 0],
  ];
  $("#kpis").replaceChildren(...kpis.map(([label, value]) =>
    el("div", {class: "kpi"}, el("div", {class: "label"}, label), el("div", {class: "value"}, value))));
}

function stockCell(line) {
  if (line.stock === null || line.stock === undefined) return el("span", {class: "muted"}, "unlimited");
  const left = line.remaining_stock ?? 0;
  const share = line.stock ? left / line.stock : 0;
  const bar = el("span", {class: "bar" + (left === 0 ? " out" : share < 0.2 ? " low" : "")},
                 el("span", {style: `width:${Math.round(share * 100)}%`}));
  return el("span", {}, bar, `${left} / ${line.stock} left`);
}

function renderCampaigns(campaigns) {
  $("#campaign-count").textContent = `${campaigns.length} main campaigns`;
  $("#campaigns tbody").replaceChildren(...campaigns.map((c) => {
    const totals = c.totals;
    const discount = totals.map((t) => money(t.discount, t.currency)).join(" · ") || money(0, c.campaign.currency);
    return el("tr", {"data-campaign": c.campaign.key},
      el("td", {}, el("strong", {}, c.campaign.name), el("div", {class: "muted"}, c.campaign.key +
         (c.sub_campaigns ? ` · ${c.sub_campaigns} sub-campaigns` : ""))),
      el("td", {}, el("span", {class: "pill " + c.campaign.status}, c.campaign.status)),
      el("td", {}, stockCell(c)),
      el("td", {class: "num"}, sum(totals, (t) => t.net_redeemed)),
      el("td", {class: "num"}, sum(totals, (t) => t.rejected)),
      el("td", {class: "num"}, discount));
  }));
  const select = $("#day-campaign");
  select.replaceChildren(...campaigns.map((c) => el("option", {value: c.campaign.key}, c.campaign.name)));
}

async function renderDays(key) {
  if (!key) return plot("chart-days", []);
  const report = await api(`/v1/reports/campaigns/${encodeURIComponent(key)}`);
  const days = report.by_day;
  plot("chart-days", [
    {type: "bar", name: "redeemed", x: days.map((d) => d.day), y: days.map((d) => d.redeemed), marker: {color: PALETTE[0]}},
    {type: "bar", name: "rejected", x: days.map((d) => d.day), y: days.map((d) => d.rejected), marker: {color: PALETTE[3]}},
  ], {barmode: "group", xaxis: {type: "category"}});
}

function renderReasons(rejections) {
  const reasons = [...rejections.reasons].reverse();
  plot("chart-reasons", [{type: "bar", orientation: "h", x: reasons.map((r) => r.count),
                          y: reasons.map((r) => r.reason), marker: {color: PALETTE[2]}}],
       {margin: {...LAYOUT.margin, l: 160}});
}

function renderCosts(campaigns) {
  const totals = campaigns.flatMap((c) => c.totals);
  const currencies = [...new Set(totals.map((t) => t.currency))];
  const traces = ["group", "store"].map((bearer, i) => ({
    type: "bar", name: bearer === "group" ? "group (head office)" : "store",
    x: currencies, y: currencies.map((cur) => sum(totals.filter((t) => t.currency === cur),
                                                   (t) => t.cost_by_bearer[bearer]) / 100),
    marker: {color: PALETTE[i === 0 ? 0 : 1]}}));
  plot("chart-costs", currencies.length ? traces : [], {barmode: "stack", yaxis: {title: "amount"}});
}

function renderFlags(flags) {
  $("#flag-count").textContent = flags.counts.open || 0;
  const rows = flags.items.map((f) => el("tr", {},
    el("td", {}, f.detector.replace(/_/g, " ")), el("td", {}, f.subject),
    el("td", {class: "num"}, `${f.count} / ${f.threshold}`), el("td", {class: "muted"}, f.raised_at.slice(0, 16).replace("T", " "))));
  $("#flags tbody").replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", {colspan: 4, class: "muted"}, "No open flags."))]));
}

function list(title, items) {
  return el("div", {}, el("h3", {}, title),
    items.length ? el("ul", {}, ...items.map((item) => el("li", {}, item))) : el("p", {class: "muted"}, "none"));
}

async function lookUpCustomer(id) {
  const target = $("#customer");
  target.replaceChildren(el("p", {class: "muted"}, "Loading…"));
  let c;
  try {
    c = await api(`/v1/reports/customers/${encodeURIComponent(id)}`);
  } catch (error) {
    target.replaceChildren(el("p", {class: "muted"}, error.message));
    return;
  }
  const lifetime = c.lifetime_discount.map((m) => money(m.amount, m.currency)).join(" · ") || "0";
  const parts = [
    list("Wallet", c.wallet.map((v) => `${v.code} · ${v.campaign.name || v.campaign.key} · ${v.state}`)),
    list("Points", c.points.map((p) => `${p.program}/${p.category}: ${p.balance}`)),
    list("Favourite campaigns", c.favourite_campaigns.map((f) => `${f.name || f.key}: ${f.redemptions} redeemed`)),
    list("Latest redemptions", c.redemptions.items.map((r) =>
      `${r.occurred_at ? r.occurred_at.slice(0, 10) : ""} ${r.code} · ${r.status} · ${money(r.discount, r.currency || "EUR")}`)),
    el("div", {}, el("h3", {}, "Lifetime discount"), el("p", {class: "kpi-inline"}, lifetime)),
  ];
  const ledger = el("div", {id: "replayed-ledger"}, el("h3", {}, "Points ledger (replayed from events)"));
  try {
    const history = await api(`/v1/audit/customers/${encodeURIComponent(id)}/points/history`);
    const rows = history.entries.map((e) => el("tr", {},
      el("td", {}, (e.at || "").slice(0, 10)), el("td", {}, `${e.program}/${e.category}`), el("td", {}, e.entry_type),
      el("td", {class: "num"}, e.credit ? `+${e.credit}` : e.debit ? `−${e.debit}` : "0"),
      el("td", {class: "num"}, e.balance)));
    ledger.append(rows.length
      ? el("table", {class: "table"}, el("thead", {}, el("tr", {}, el("th", {}, "Day"), el("th", {}, "Account"),
             el("th", {}, "Entry"), el("th", {class: "num"}, "Points"), el("th", {class: "num"}, "Balance"))),
           el("tbody", {}, ...rows))
      : el("p", {class: "muted"}, "no points entries"));
  } catch (error) {
    ledger.append(el("p", {class: "muted"}, error.message));
  }
  target.replaceChildren(...parts, ledger);
}

async function load() {
  status("Loading…");
  const [merchant, campaigns, rejections, flags] = await Promise.all([
    api("/v1/merchant"), api("/v1/reports/campaigns?limit=200"), api("/v1/reports/rejections"),
    api("/v1/fraud/flags?status=open&limit=20"),
  ]);
  $("#merchant").textContent = `${merchant.name} · ${merchant.timezone}`;
  renderKpis(campaigns.items, flags);
  renderCampaigns(campaigns.items);
  renderReasons(rejections);
  renderCosts(campaigns.items);
  renderFlags(flags);
  await renderDays($("#day-campaign").value);
  status(`Updated ${new Date().toLocaleTimeString()}`);
  document.body.dataset.loaded = "true";
}

function showKeyForm(message) {
  $("#main").hidden = true;
  $("#key-form").hidden = false;
  $("#sign-out").hidden = true;
  if (message) status(message, true);
}

async function openDashboard() {
  if (!takeKeyFromFragment()) return showKeyForm();
  $("#key-form").hidden = true;
  $("#sign-out").hidden = false;
  $("#main").hidden = false;
  try {
    await load();
  } catch (error) {
    if (error.status === 401 || error.status === 403) showKeyForm(`The key was refused: ${error.message}`);
    else status(`Could not load: ${error.message}`, true);
  }
}

function init() {
  $("#key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY, $("#key-input").value.trim());
    openDashboard();
  });
  $("#sign-out").addEventListener("click", () => { sessionStorage.removeItem(KEY); showKeyForm(); });
  $("#day-campaign").addEventListener("change", (event) => renderDays(event.target.value));
  $("#customer-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const id = $("#customer-input").value.trim();
    if (id) lookUpCustomer(id);
  });
  openDashboard();
}

document.addEventListener("DOMContentLoaded", init, {once: true});
