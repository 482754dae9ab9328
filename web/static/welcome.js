// The welcome, for whoever this device does not know: what the programme
// offers (its tiers and rates, read from the server's rules at
// /api/programme, so the page never promises other rates than approvals
// pay), the application form, and the page that says an application is
// being reviewed. Plain JavaScript in the page's shell, not the app's
// wasm: a visitor on a phone's network reads and applies within a second
// or two, and never downloads the app unless they sign in (boot.js).
//
// Views, by the location's hash: the programme with the sign-in form
// (none), `#apply`, `#applied`, `#sign-in`. On a phone one is shown at a
// time; a desktop keeps the programme beside the form. A team leader's
// invite link is `/?invite=<code>#apply`: the form says whose team it is
// and sends the code with the application.
const welcome = document.getElementById("welcome");
const applyForm = document.getElementById("apply-form");
const applied = document.getElementById("applied");
const signIn = document.getElementById("preboot-form");

// What this device applied with (no password), to say so when the
// applicant comes back.
const APPLICATION = "application";
const JSON_HEADERS = { "Accept": "application/json", "Content-Type": "application/json", "X-Requested-With": "portal" };

const invite = (() => {
  const code = new URLSearchParams(location.search).get("invite") ?? "";
  // The server's shape (wire::Invite::is_code); anything else is no code.
  return /^[a-z2-7]{10}$/.test(code) ? code : null;
})();

function remembered() {
  try {
    const kept = JSON.parse(localStorage.getItem(APPLICATION));
    return kept && typeof kept.email === "string" ? kept : null;
  } catch {
    return null;
  }
}

const VIEWS = { "": "home", "#sign-in": "sign-in", "#apply": "apply", "#applied": "applied" };

function show(focus) {
  let view = VIEWS[location.hash] ?? "home";
  if (view === "applied" && !remembered()) view = "apply";
  welcome.dataset.view = view;
  applyForm.hidden = view !== "apply";
  applied.hidden = view !== "applied";
  signIn.hidden = view === "apply" || view === "applied";
  if (view === "applied") fillApplied(remembered());
  if (!focus) return;
  // Moving between views moves focus with it, so a screen reader and a
  // keyboard land on what just appeared.
  if (view === "apply") applyForm.elements.name.focus();
  else if (view === "sign-in") signIn.elements.email.focus();
  else if (view === "applied") applied.focus();
}

function fillApplied(kept) {
  document.getElementById("applied-name").textContent = kept.name;
  document.getElementById("applied-email").textContent = kept.email;
  const team = document.getElementById("applied-team");
  team.textContent = kept.leader ? `You asked to join ${kept.leader}'s team: the admin sees it.` : "";
  team.hidden = !kept.leader;
}

// --- The programme -------------------------------------------------------

const TIER_NAMES = { starter: "Starter", active: "Active", performer: "Performer", elite: "Elite" };
const percent = (bps) =>
  new Intl.NumberFormat(undefined, { style: "percent", maximumFractionDigits: 2 }).format(bps / 10000);
const count = (n) => new Intl.NumberFormat().format(n);

async function showProgramme() {
  const body = document.querySelector("#tiers tbody");
  let programme;
  try {
    const answer = await fetch("/api/programme", { headers: { "Accept": "application/json" } });
    if (!answer.ok) throw new Error(String(answer.status));
    programme = await answer.json();
  } catch {
    if (!welcome.isConnected) return;
    document.getElementById("tiers-loading").textContent = navigator.onLine
      ? "The rates could not be loaded. Reload the page to try again."
      : "You are offline: the rates show once you are online.";
    return;
  }
  // The app may have taken the page over meanwhile (boot.js).
  if (!welcome.isConnected) return;
  const tiers = programme.tiers ?? [];
  body.replaceChildren(...tiers.map((tier, i) => {
    const next = tiers[i + 1];
    const row = document.createElement("tr");
    row.dataset.tier = tier.tier;
    const deals = next
      ? (tier.min_deals === next.min_deals - 1 ? count(tier.min_deals) : `${count(tier.min_deals)}–${count(next.min_deals - 1)}`)
      : `${count(tier.min_deals)} or more`;
    for (const [text, cls] of [[TIER_NAMES[tier.tier] ?? tier.tier, ""], [deals, "num"], [percent(tier.base_rate_bps), "num"]]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      if (cls) cell.className = cls;
      row.append(cell);
    }
    return row;
  }));
  const days = programme.deal_window_days;
  document.getElementById("tier-window").textContent =
    days === 365 ? "12 months" : `${count(days)} days`;
  const shares = document.getElementById("shares");
  const { referral, team_override: team } = programme;
  if (referral && team) {
    shares.textContent =
      `On top: ${percent(referral.rate_bps)} of every order bought through your referral link from the ${TIER_NAMES[referral.min_tier]} tier up, ` +
      `and for team leaders ${percent(team.rate_bps)} of their team's commission from the ${TIER_NAMES[team.min_tier]} tier up.`;
    shares.hidden = false;
  }
}

// --- An invite link --------------------------------------------------------

let leader = null;

async function showInvite() {
  if (!invite) return;
  try {
    const answer = await fetch(`/api/invites/${invite}`, { headers: { "Accept": "application/json" } });
    if (!answer.ok) return;
    leader = (await answer.json()).leader_name;
  } catch {
    return;
  }
  if (!welcome.isConnected) return;
  const team = document.getElementById("apply-team");
  team.textContent = `You are invited to join ${leader}'s team.`;
  team.hidden = false;
}

// --- Applying --------------------------------------------------------------

const FIELDS = ["name", "email", "company", "password"];

function fieldError(name, message) {
  const input = applyForm.elements[name];
  const error = document.getElementById(`apply-${name}-error`);
  error.textContent = message ?? "";
  error.hidden = !message;
  if (message) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
}

function formError(message) {
  const error = document.getElementById("apply-error");
  error.textContent = message ?? "";
  error.hidden = !message;
}

// The same rules the server applies (accounts/applications.rs), said per
// field before anything is sent; the server's own words for the rest.
function check(values) {
  const wrong = {};
  if (!values.name) wrong.name = "Enter your name.";
  else if ([...values.name].length > 200) wrong.name = "Your name can be at most 200 characters long.";
  if (!values.email) wrong.email = "Enter your email.";
  else if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(values.email)) wrong.email = "Enter an email like name@example.com.";
  if ([...values.company].length > 200) wrong.company = "The company can be at most 200 characters long.";
  if ([...values.password].length < 12) wrong.password = "Choose a password of 12 characters or more.";
  return wrong;
}

// Which field a server's message is about: it names it first.
function fieldOf(message) {
  const first = message.split(/[\s:]/, 1)[0].toLowerCase();
  return FIELDS.includes(first) ? first : null;
}

let sending = false;
async function send(event) {
  event.preventDefault();
  if (sending) return;
  const values = {
    name: applyForm.elements.name.value.trim(),
    email: applyForm.elements.email.value.trim(),
    company: applyForm.elements.company.value.trim(),
    password: applyForm.elements.password.value,
  };
  const wrong = check(values);
  for (const name of FIELDS) fieldError(name, wrong[name]);
  formError("");
  const first = FIELDS.find((name) => wrong[name]);
  if (first) {
    applyForm.elements[first].focus();
    return;
  }
  const button = applyForm.querySelector("button[type=submit]");
  sending = true;
  button.disabled = true;
  button.textContent = "Sending…";
  try {
    const answer = await fetch("/api/applications", {
      method: "POST",
      headers: JSON_HEADERS,
      body: JSON.stringify(invite ? { ...values, invite } : values),
    });
    if (answer.status === 201) {
      localStorage.setItem(APPLICATION, JSON.stringify({ name: values.name, email: values.email, leader, at: Date.now() }));
      applyForm.reset();
      signIn.elements.email.value = values.email;
      location.hash = "#applied";
      return;
    }
    let said = "";
    try { said = (await answer.json()).error ?? ""; } catch { /* the status says it */ }
    if (answer.status === 429 || (answer.status === 503 && answer.headers.has("Retry-After"))) {
      formError("Many people are applying right now. Wait a minute, then send it again: nothing you typed is lost.");
    } else if (answer.status === 400 && fieldOf(said)) {
      const field = fieldOf(said);
      fieldError(field, said.charAt(0).toUpperCase() + said.slice(1) + ".");
      applyForm.elements[field].focus();
    } else if (answer.status >= 400 && answer.status < 500 && said) {
      formError(said.charAt(0).toUpperCase() + said.slice(1) + ".");
    } else {
      formError(`The server could not take your application (error ${answer.status}). Try again shortly: nothing you typed is lost.`);
    }
  } catch {
    formError(navigator.onLine
      ? "Cannot reach the server. Check your connection and send it again: nothing you typed is lost."
      : "You are offline. Sending an application needs a connection; send it again once you have one.");
  } finally {
    sending = false;
    button.disabled = false;
    button.textContent = "Send application";
  }
}

// A field corrected is no longer wrong.
function corrected(event) {
  if (FIELDS.includes(event.target.name)) fieldError(event.target.name, null);
}

// --- Start -----------------------------------------------------------------

// Only for whom boot.js shows the welcome (this script runs after it),
// and only while it is there: the app may have taken the page over
// already, for someone this device remembers.
if (welcome && !welcome.hidden && welcome.isConnected) {
  applyForm.addEventListener("submit", send);
  applyForm.addEventListener("input", corrected);
  const kept = remembered();
  if (kept) {
    const note = document.getElementById("applied-note");
    note.textContent = `You applied as ${kept.email}; your application is being reviewed. Sign in once it is approved.`;
    note.hidden = false;
    signIn.elements.email.value = kept.email;
  }
  if (invite && !location.hash) history.replaceState(null, "", `${location.pathname}${location.search}#apply`);
  show(false);
  window.addEventListener("hashchange", () => {
    // Once the app has the page (boot.js), the hash is its own.
    if (!welcome.isConnected) return;
    show(true);
    window.scrollTo(0, 0);
  });
  showProgramme();
  showInvite();
}
