"use strict";
// The homeowner's page: sign in against the Cognito pool, then the API's homeowner routes.
// No framework, no build step. Text goes into the page with textContent only (never as
// HTML), and the Content-Security-Policy admits this script by its hash alone.
(function () {
  const CONFIG = JSON.parse(document.getElementById("faultline-config").textContent);
  // The API is where this page was served from: "/app" locally, "/{stage}/app" on AWS.
  const API_BASE = new URL("./", window.location.href).href;
  const SESSION_KEY = "faultline.session";

  const STATUS_WORDS = {
    awaiting_approval: "Waiting for your approval",
    approved: "Approved: finding a technician",
    offered: "Approved: a technician is being booked",
    dispatched: "Technician booked",
    en_route: "Technician on the way",
    on_site: "Technician at your home",
    completed: "Repaired",
    unresolved: "The visit did not fix it",
    declined: "You declined the repair",
    cancelled: "Cancelled",
    expired: "Expired: it was not approved in time",
    self_fixed: "You fixed it yourself",
  };
  const URGENCY_WORDS = {
    emergency: "Emergency",
    high: "Urgent",
    normal: "Normal",
    low: "Can wait",
  };
  const CLOSED = new Set(["completed", "unresolved", "declined", "cancelled", "expired", "self_fixed"]);

  // ------------------------------------------------------------------ session (memory first)

  let session = null; // {accessToken, username, expiresAt}

  function loadSession() {
    try {
      const saved = JSON.parse(window.sessionStorage.getItem(SESSION_KEY) || "null");
      if (saved && saved.expiresAt > Date.now() + 30000) {
        session = saved;
      }
    } catch (e) {
      session = null;
    }
  }

  function saveSession(value) {
    session = value;
    try {
      if (value) {
        window.sessionStorage.setItem(SESSION_KEY, JSON.stringify(value));
      } else {
        window.sessionStorage.removeItem(SESSION_KEY);
      }
    } catch (e) {
      // Storage refused (private mode): the session lives in memory only.
    }
  }

  // ------------------------------------------------------------------ errors in words

  class Problem extends Error {
    constructor(message, details) {
      super(message);
      this.details = details || {};
    }
  }

  const SIGN_IN_WORDS = {
    NotAuthorizedException: "The username or password is not right.",
    UserNotFoundException: "The username or password is not right.",
    PasswordResetRequiredException: "Your password must be reset before you can sign in.",
    UserNotConfirmedException: "Your account is not confirmed yet.",
    TooManyRequestsException: "Too many attempts. Please wait a minute and try again.",
    LimitExceededException: "Too many attempts. Please wait a minute and try again.",
  };

  const API_WORDS = {
    bad_request: "That was not accepted",
    unauthorized: "Your session has ended; please sign in again",
    forbidden: "This account may not do that",
    not_found: "We could not find that",
    conflict: "That could not be done because something changed meanwhile",
    payload_too_large: "That was too long",
    too_many_requests: "Too many attempts; please wait a minute",
    unavailable: "The service is busy; please try again in a moment",
    internal_error: "Something went wrong on our side",
  };

  // ------------------------------------------------------------------ data layer

  async function signIn(username, password) {
    let response;
    try {
      response = await fetch(CONFIG.cognito_endpoint, {
        method: "POST",
        headers: {
          "Content-Type": "application/x-amz-json-1.1",
          "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth",
        },
        body: JSON.stringify({
          AuthFlow: "USER_PASSWORD_AUTH",
          ClientId: CONFIG.client_id,
          AuthParameters: { USERNAME: username, PASSWORD: password },
        }),
      });
    } catch (e) {
      throw new Problem("The sign-in service cannot be reached. Check your connection and try again.");
    }
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const kind = String(body.__type || "").split("#").pop();
      throw new Problem(SIGN_IN_WORDS[kind] || body.message || "Signing in did not work.", { kind });
    }
    const result = body.AuthenticationResult;
    if (!result || !result.AccessToken) {
      throw new Problem("This account needs a step this page cannot do yet (" + (body.ChallengeName || "unknown") + ").");
    }
    return {
      accessToken: result.AccessToken,
      username: username,
      expiresAt: Date.now() + 1000 * (result.ExpiresIn || 3600),
    };
  }

  async function call(method, path, body) {
    if (!session) {
      throw new Problem(API_WORDS.unauthorized + ".", { code: "unauthorized" });
    }
    const init = { method: method, headers: { Authorization: "Bearer " + session.accessToken } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(API_BASE + path, init);
    } catch (e) {
      throw new Problem("The service cannot be reached. Check your connection and try again.");
    }
    const answer = await response.json().catch(() => null);
    if (!response.ok) {
      const code = (answer && answer.code) || "error";
      const lead = API_WORDS[code] || "That did not work";
      const said = answer && answer.message ? ": " + answer.message : "";
      const sentence = /[.!?]$/.test(said) ? lead + said : lead + said + ".";
      const problem = new Problem(sentence, {
        code: code,
        status: response.status,
        requestId: answer && answer.request_id,
      });
      if (response.status === 401) {
        saveSession(null);
      }
      throw problem;
    }
    return answer;
  }

  const q = encodeURIComponent;
  const api = {
    myOrders: () => call("GET", "my/orders"),
    homeOrders: (homeId) => call("GET", "homes/" + q(homeId) + "/orders"),
    ticket: (orderId) => call("GET", "orders/" + q(orderId) + "/ticket"),
    approve: (orderId, slot) => call("POST", "orders/" + q(orderId) + "/approve", { window: slot }),
    decline: (orderId, reason) => call("POST", "orders/" + q(orderId) + "/decline", { reason: reason }),
    selfFix: (orderId, result) => call("POST", "orders/" + q(orderId) + "/self-fix", { result: result }),
    rate: (orderId, stars, comment) =>
      call("POST", "orders/" + q(orderId) + "/rating", { stars: stars, comment: comment }),
    myHomes: () => call("GET", "my/homes"),
    policy: (homeId) => call("GET", "homes/" + q(homeId) + "/policy"),
    savePolicy: (homeId, policy) => call("PUT", "homes/" + q(homeId) + "/policy", policy),
  };

  // A listed order: an OrderSummary (GET /my/orders) or a whole RepairOrder (a home's list).
  function summaryOf(order) {
    const booked = order.window || (order.offer && order.offer.window) || null;
    return {
      orderId: order.order_id,
      status: order.status,
      title: order.title || (order.diagnosis && order.diagnosis.title) || order.fault_code || "A fault",
      urgency: order.urgency || (order.diagnosis && order.diagnosis.urgency) || "normal",
      thing: order.thing_name,
      createdAt: order.created_at,
      window: booked,
    };
  }

  // ------------------------------------------------------------------ DOM helpers

  const $ = (id) => document.getElementById(id);

  function el(tag, props, children) {
    const node = document.createElement(tag);
    Object.entries(props || {}).forEach(([name, value]) => {
      if (name === "text") {
        node.textContent = value;
      } else if (name === "dataset") {
        Object.assign(node.dataset, value);
      } else if (value !== null && value !== undefined && value !== false) {
        node.setAttribute(name, value === true ? "" : String(value));
      }
    });
    (children || []).forEach((child) => node.append(child));
    return node;
  }

  function say(message) {
    // Emptied first so that the same message twice is announced twice.
    $("status").textContent = "";
    window.setTimeout(() => { $("status").textContent = message; }, 50);
  }

  function showProblem(problem) {
    const box = $("problem");
    box.replaceChildren();
    box.append(el("p", { text: problem.message }));
    const requestId = problem.details && problem.details.requestId;
    if (requestId) {
      box.append(el("p", { class: "muted", text: "If you call us, quote: " + requestId }));
    }
    box.hidden = false;
  }

  function clearProblem() {
    $("problem").hidden = true;
    $("problem").replaceChildren();
  }

  const money = (amount, currency) =>
    new Intl.NumberFormat(undefined, { style: "currency", currency: currency || "EUR" }).format(amount || 0);

  // Times are shown in the home's time zone (the ticket's `timezone`), named by its
  // abbreviation, never in the browser's own zone unlabelled.
  let homeZone = "UTC";

  function inHomeZone(iso, options) {
    try {
      return new Intl.DateTimeFormat(undefined, { ...options, timeZone: homeZone }).format(new Date(iso));
    } catch (_) { // a zone this browser does not know: UTC, named
      return new Intl.DateTimeFormat(undefined, { ...options, timeZone: "UTC" }).format(new Date(iso));
    }
  }

  function timeText(iso, named) {
    const options = { hour: "2-digit", minute: "2-digit" };
    return inHomeZone(iso, named ? { ...options, timeZoneName: "short" } : options);
  }

  // A window in words, "Thursday 26 November, 08:00 to 10:00 CET", with machine-readable times.
  function windowNode(slot) {
    const day = inHomeZone(slot.start, { weekday: "long", day: "numeric", month: "long" });
    const node = el("span", { class: "window", dataset: { start: slot.start, end: slot.end } });
    node.append(
      day + ", ",
      el("time", { datetime: slot.start, text: timeText(slot.start, false) }),
      " to ",
      el("time", { datetime: slot.end, text: timeText(slot.end, true) }),
    );
    return node;
  }

  function windowText(slot) {
    return windowNode(slot).textContent;
  }

  // ------------------------------------------------------------------ views

  const VIEWS = ["view-sign-in", "view-orders", "view-ticket", "view-home", "view-homes"];

  function show(viewId, focusId) {
    VIEWS.forEach((id) => { $(id).hidden = id !== viewId; });
    $("nav").hidden = viewId === "view-sign-in";
    $("who").textContent = session ? "Signed in as " + session.username : "";
    const heading = $(focusId);
    if (heading && document.activeElement !== heading) {
      heading.focus();
    }
  }

  function orderCards(listId, emptyId, orders) {
    const list = $(listId);
    list.replaceChildren();
    orders.map(summaryOf).forEach((order) => {
      const lines = [
        el("a", { href: "#/orders/" + q(order.orderId), text: order.title }),
        el("p", { dataset: { status: order.status }, text: STATUS_WORDS[order.status] || order.status }),
      ];
      if (order.urgency === "emergency" || order.urgency === "high") {
        lines.push(el("p", { class: "urgent", text: URGENCY_WORDS[order.urgency] }));
      }
      if (order.window) {
        const when = el("p", {});
        when.append("Visit: ", windowNode(order.window));
        lines.push(when);
      }
      list.append(el("li", { dataset: { orderId: order.orderId } }, lines));
    });
    $(emptyId).hidden = orders.length > 0;
  }

  async function renderMyOrders() {
    show("view-orders", "orders-title");
    const listing = await api.myOrders();
    const open = listing.orders.filter((o) => !CLOSED.has(o.status));
    orderCards("orders-list", "orders-empty", open);
    const finished = listing.orders.filter((o) => CLOSED.has(o.status)).slice(0, 10);
    orderCards("finished-list", "orders-empty", finished);
    $("orders-empty").hidden = open.length > 0;
    $("finished").hidden = finished.length === 0;
    say(open.length === 1 ? "You have 1 open ticket." : "You have " + open.length + " open tickets.");
  }

  async function renderHome(homeId) {
    $("home-title").textContent = "Tickets of home " + homeId;
    show("view-home", "home-title");
    const listing = await api.homeOrders(homeId);
    orderCards("home-list", "home-empty", listing.orders);
    const count = listing.orders.length;
    say(count === 1 ? "1 ticket for this home." : count + " tickets for this home.");
  }

  function renderParts(parts, currency) {
    const body = $("ticket-parts").tBodies[0];
    body.replaceChildren();
    (parts || []).forEach((part) => {
      const availability = part.available
        ? "In stock"
        : "Ordered: about " + part.lead_time_days + " day" + (part.lead_time_days === 1 ? "" : "s");
      body.append(el("tr", {}, [
        el("td", { text: part.description + " (" + part.part_number + ")" }),
        el("td", { text: String(part.quantity) }),
        el("td", { text: money(part.unit_price * part.quantity, currency) }),
        el("td", { text: availability }),
      ]));
    });
    if (!body.rows.length) {
      body.append(el("tr", {}, [el("td", { colspan: 4, text: "No parts needed." })]));
    }
  }

  function renderCost(cost) {
    const list = $("ticket-cost");
    list.replaceChildren();
    if (!cost) {
      return;
    }
    const row = (label, amount, cls) => {
      list.append(el("dt", { class: cls, text: label }), el("dd", { class: cls, text: money(amount, cost.currency) }));
    };
    row("Parts", cost.parts);
    row("Labour", cost.labour);
    row("Total", cost.total);
    if (cost.warranty_covers) {
      row("Covered by the warranty", -cost.warranty_covers);
    }
    row("You pay", cost.to_pay, "total");
  }

  function renderWindows(ticket) {
    const box = $("approve-windows");
    box.replaceChildren();
    (ticket.windows || []).forEach((slot, index) => {
      const id = "window-" + index;
      const input = el("input", {
        type: "radio",
        name: "window",
        id: id,
        value: String(index),
        required: true,
      });
      const label = el("label", { for: id, class: "choice" });
      label.append(input, windowNode(slot));
      box.append(label);
    });
    $("approve-no-windows").hidden = (ticket.windows || []).length > 0;
    $("approve-button").hidden = !(ticket.windows || []).length;
  }

  function renderStars() {
    const box = $("rate-stars");
    if (box.childElementCount) {
      return;
    }
    [1, 2, 3, 4, 5].forEach((stars) => {
      const id = "stars-" + stars;
      const label = el("label", { for: id, class: "choice" });
      label.append(
        el("input", { type: "radio", name: "stars", id: id, value: String(stars), required: true }),
        stars + (stars === 1 ? " star" : " stars"),
      );
      box.append(label);
    });
  }

  let currentTicket = null;

  async function renderTicket(orderId, focus) {
    if (focus !== false) {
      $("ticket-title").textContent = "Loading the ticket";
      show("view-ticket", "ticket-title");
    }
    const ticket = await api.ticket(orderId);
    homeZone = ticket.timezone || "UTC";
    currentTicket = ticket;
    const actions = new Set(ticket.actions || []);
    $("ticket-title").textContent = ticket.title;
    const status = $("ticket-status");
    status.textContent = STATUS_WORDS[ticket.status] || ticket.status;
    status.dataset.status = ticket.status;
    $("ticket-safety").hidden = !ticket.safety_advice;
    $("ticket-safety-text").textContent = ticket.safety_advice || "";
    const urgency = URGENCY_WORDS[ticket.urgency] || ticket.urgency;
    $("ticket-diagnosis").textContent = ticket.title + " (" + urgency + ")";
    const appliance = ticket.appliance || {};
    const category = String(appliance.category || "").replace(/_/g, " ");
    $("ticket-appliance").textContent = [appliance.manufacturer, appliance.model, category]
      .filter(Boolean)
      .join(" · ");
    $("ticket-explanation").textContent = ticket.explanation || "";
    $("ticket-self-fix").hidden = !ticket.self_fix;
    $("ticket-self-fix-text").textContent = ticket.self_fix || "";
    $("self-fix-form").hidden = !actions.has("self_fix");
    const booked = ticket.booked;
    $("ticket-booked").hidden = !booked;
    if (booked) {
      const text = $("ticket-booked-text");
      text.replaceChildren(booked.technician_name + " comes on ", windowNode(booked.window), ".");
    }
    renderParts(ticket.parts, ticket.cost && ticket.cost.currency);
    renderCost(ticket.cost);
    const answerBy = ticket.answer_by; // the expiry, not the next reminder
    $("ticket-deadline").hidden = !(answerBy && actions.has("approve"));
    if (answerBy) {
      $("ticket-deadline").textContent =
        "Please answer by " + inHomeZone(answerBy, {
          weekday: "long", hour: "2-digit", minute: "2-digit", timeZoneName: "short",
        }) + ".";
    }
    $("approve-form").hidden = !actions.has("approve");
    if (actions.has("approve")) {
      renderWindows(ticket);
    }
    $("decline-form").hidden = !actions.has("decline");
    $("rate-form").hidden = !actions.has("rate");
    if (actions.has("rate")) {
      renderStars();
    }
    $("ticket-rating").hidden = !ticket.rating;
    if (ticket.rating) {
      $("ticket-rating").textContent = "You rated this visit " + ticket.rating.stars + " of 5.";
    }
    return ticket;
  }

  function policyForm(home) {
    const policy = home.policy || {};
    const prefix = "policy-" + home.home_id.replace(/[^A-Za-z0-9_-]/g, "_");
    const form = el("form", { class: "home", novalidate: true, dataset: { homeId: home.home_id } });
    const check = (name, text, checked) => {
      const id = prefix + "-" + name;
      const label = el("label", { for: id, class: "check" });
      label.append(el("input", { type: "checkbox", id: id, name: name, checked: Boolean(checked) }), text);
      return label;
    };
    const ceilingId = prefix + "-max_auto_cost";
    const appliances = (home.appliances || [])
      .map((a) => [a.manufacturer, a.model].filter(Boolean).join(" ") || a.thing_name)
      .join(", ");
    form.append(
      el("h2", { text: "Home " + home.home_id }),
      el("p", { class: "muted", text: appliances ? "Appliances: " + appliances : "No appliances paired." }),
      check("emergencies_always", "Send someone at once for an emergency (gas, water, fire), whatever it costs", policy.emergencies_always !== false),
      check("warranty_repairs", "Go ahead with repairs the warranty covers", policy.warranty_repairs),
      check("auto_approve", "Go ahead with other repairs without asking me", policy.auto_approve),
      el("label", { for: ceilingId, text: "…but only up to this cost in euros (empty: no limit)" }),
      el("input", {
        id: ceilingId,
        name: "max_auto_cost",
        type: "number",
        inputmode: "decimal",
        min: "0",
        step: "1",
        value: policy.max_auto_cost === null || policy.max_auto_cost === undefined ? "" : String(policy.max_auto_cost),
      }),
      el("button", { type: "submit", text: "Save the settings of home " + home.home_id }),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const ceiling = form.elements.max_auto_cost.value.trim();
      const updated = Object.assign({}, policy, {
        auto_approve: form.elements.auto_approve.checked,
        emergencies_always: form.elements.emergencies_always.checked,
        warranty_repairs: form.elements.warranty_repairs.checked,
        max_auto_cost: ceiling === "" ? null : Number(ceiling),
      });
      busy(form, async () => {
        home.policy = await api.savePolicy(home.home_id, updated);
        say("Saved the settings of home " + home.home_id + ".");
      });
    });
    return form;
  }

  async function renderHomes() {
    show("view-homes", "homes-title");
    const listing = await api.myHomes();
    const box = $("homes-list");
    box.replaceChildren(...listing.homes.map(policyForm));
    if (!listing.homes.length) {
      box.append(el("p", { text: "No home is linked to this account yet." }));
    }
  }

  // ------------------------------------------------------------------ actions

  async function busy(form, work) {
    const buttons = Array.from(form.querySelectorAll("button"));
    buttons.forEach((b) => { b.disabled = true; });
    clearProblem();
    try {
      await work();
    } catch (problem) {
      report(problem);
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  }

  function report(problem) {
    if (problem && problem.details && problem.details.code === "unauthorized") {
      route();
    }
    showProblem(problem instanceof Problem ? problem : new Problem("Something went wrong: " + problem));
  }

  $("sign-in-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const username = $("username").value.trim();
    const password = $("password").value;
    if (!username || !password) {
      showProblem(new Problem("Enter your username and your password."));
      (username ? $("password") : $("username")).focus();
      return;
    }
    busy(event.target, async () => {
      saveSession(await signIn(username, password));
      $("password").value = "";
      await route();
    });
  });

  $("sign-out").addEventListener("click", () => {
    saveSession(null);
    currentTicket = null;
    say("Signed out.");
    window.location.hash = "#/";
    route();
  });

  $("approve-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const ticket = currentTicket;
    const chosen = event.target.querySelector("input[name=window]:checked");
    if (!chosen) {
      showProblem(new Problem("Choose a time for the visit first."));
      const first = event.target.querySelector("input[name=window]");
      if (first) {
        first.focus();
      }
      return;
    }
    const slot = ticket.windows[Number(chosen.value)];
    busy(event.target, async () => {
      const order = await api.approve(ticket.order_id, { start: slot.start, end: slot.end });
      await renderTicket(ticket.order_id, false);
      say("Approved. " + (STATUS_WORDS[order.status] || order.status) + " for " + windowText(slot) + ".");
      $("ticket-title").focus();
    });
  });

  $("decline-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const ticket = currentTicket;
    const reason = $("decline-reason").value.trim();
    if (!reason) {
      showProblem(new Problem("Say in a few words why you decline: it helps us and the technician."));
      $("decline-reason").focus();
      return;
    }
    busy(event.target, async () => {
      await api.decline(ticket.order_id, reason);
      $("decline-reason").value = "";
      await renderTicket(ticket.order_id, false);
      say("Declined. Nobody will come for this ticket.");
      $("ticket-title").focus();
    });
  });

  $("self-fix-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const ticket = currentTicket;
    const result = event.submitter ? event.submitter.value : "still_broken";
    busy(event.target, async () => {
      await api.selfFix(ticket.order_id, result);
      await renderTicket(ticket.order_id, false);
      say(result === "fixed"
        ? "Well done: the ticket is closed, nobody will come."
        : "Thank you for trying. The repair now waits for your approval.");
      $("ticket-title").focus();
    });
  });

  $("rate-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const ticket = currentTicket;
    const chosen = event.target.querySelector("input[name=stars]:checked");
    if (!chosen) {
      showProblem(new Problem("Choose from 1 to 5 stars first."));
      $("stars-1").focus();
      return;
    }
    busy(event.target, async () => {
      await api.rate(ticket.order_id, Number(chosen.value), $("rate-comment").value.trim());
      $("rate-comment").value = "";
      await renderTicket(ticket.order_id, false);
      say("Thank you: your rating was sent.");
    });
  });

  // ------------------------------------------------------------------ routing (#/...)

  async function route() {
    clearProblem();
    $("status").textContent = "";
    if (!session) {
      show("view-sign-in", "sign-in-title");
      return;
    }
    const path = window.location.hash.replace(/^#/, "") || "/";
    const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
    try {
      if (parts[0] === "orders" && parts[1]) {
        await renderTicket(parts[1]);
      } else if (parts[0] === "homes" && parts[1]) {
        await renderHome(parts[1]);
      } else if (parts[0] === "homes") {
        await renderHomes();
      } else {
        await renderMyOrders();
      }
    } catch (problem) {
      report(problem);
    }
  }

  window.addEventListener("hashchange", route);
  loadSession();
  route();
})();
