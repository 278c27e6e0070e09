// bcdrill drill room: the page of the web console. Hand-written, no dependencies, no build step.
// Signs in with the token in the link's fragment (#t=..., never sent to the server in a URL),
// follows the drill through the event stream (/api/events) and posts confirmations.
"use strict";
(function () {
  const T = {
    en: {
      since_t0: "since T0", signin_title: "Sign in", commander: "Drill commander", hold: "Hold",
      continue: "Continue", reason: "reason (required)", waiting_title: "Waiting for your confirmation",
      waiting_none: "Nothing waits for your team right now.", systems: "Systems",
      deviations: "Deviations so far", steps: "Steps", evidence: "Evidence", pass: "pass", fail: "fail",
      not_tested: "not tested", note: "note (required on fail / not tested)",
      evidence_files: "Evidence (screenshots, exports)", confirm: "Confirm", skip: "Skip (commander)",
      signin_text: "Open your personal link (ask the drill commander: drill console RUN_DIR --links).",
      running: "running", held: "HELD", complete: "complete", aborted: "aborted", interrupted: "interrupted",
      starting: "starting", pending: "pending", waiting: "waiting", retrying: "retrying", ok: "ok",
      failed: "failed", timeout: "timeout", skipped: "skipped", cancelled: "cancelled",
      target: "target", elapsed: "elapsed", remaining: "left", projected: "projected",
      recovered: "recovered in", breach_predicted: "PREDICTED BREACH", breached: "RTO BREACHED",
      not_recoverable: "cannot recover in this run", critical: "critical path", late: "late",
      planned: "planned", by: "by", sending: "sending…", sent: "confirmed — the runner records it",
      queued: "accepted — the runner will record it", none: "none", you: "you",
      retry: "Retry at resume", mark_done: "Mark done at resume", reason_prompt: "Reason (required):",
      uploading: "uploading evidence…", held_by: "held by", no_deviations: "none so far",
      rto_breach_predicted: "predicted RTO breach", rto_breached: "RTO breached", late_kind: "late",
    },
    zh: {
      since_t0: "距 T0", signin_title: "登录", commander: "演练总指挥", hold: "暂停", continue: "继续",
      reason: "原因（必填）", waiting_title: "等待您确认", waiting_none: "目前没有等待贵部门确认的步骤。",
      systems: "系统", deviations: "目前的偏差", steps: "步骤", evidence: "证据", pass: "通过",
      fail: "失败", not_tested: "未测试", note: "备注（失败或未测试时必填）",
      evidence_files: "证据（截图、导出文件）", confirm: "确认", skip: "跳过（总指挥）",
      signin_text: "请打开您的个人链接（向演练总指挥索取：drill console RUN_DIR --links）。",
      running: "进行中", held: "已暂停", complete: "已完成", aborted: "已中止", interrupted: "已中断",
      starting: "启动中", pending: "未开始", waiting: "等待确认", retrying: "重试中", ok: "成功",
      failed: "失败", timeout: "超时", skipped: "已跳过", cancelled: "已取消",
      target: "目标", elapsed: "已用", remaining: "剩余", projected: "预计",
      recovered: "已恢复，用时", breach_predicted: "预计超时", breached: "RTO 已超时",
      not_recoverable: "本次演练无法恢复", critical: "关键路径", late: "延迟", planned: "计划",
      by: "执行", sending: "提交中…", sent: "已确认，执行器正在记录", queued: "已受理，执行器将记录",
      none: "无", you: "您", retry: "恢复时重试", mark_done: "恢复时标记完成", reason_prompt: "原因（必填）：",
      uploading: "正在上传证据…", held_by: "暂停人", no_deviations: "暂无",
      rto_breach_predicted: "预计 RTO 超时", rto_breached: "RTO 已超时", late_kind: "延迟",
    },
  };
  let lang = (localStorage.getItem("drill-lang") || navigator.language || "en").startsWith("zh") ? "zh" : "en";
  const t = (key) => (T[lang][key] !== undefined ? T[lang][key] : key);
  const $ = (id) => document.getElementById(id);
  const state = { run: {}, steps: new Map(), order: [], systems: [], deviations: [], evidence: [], you: null };
  let csrf = null, receivedAt = 0, nowT = 0, source = null, cards = new Map();
  window.__drill = { updates: [], state: state };

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function dur(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    const neg = seconds < 0, s = Math.floor(Math.abs(seconds));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    const text = (h ? h + ":" + String(m).padStart(2, "0") : String(m)) + ":" + String(r).padStart(2, "0");
    return (neg ? "-" : "") + text;
  }

  function liveT() {  // the run's t now, from the server's now_t plus the time since it was received
    return state.run.finished ? nowT : nowT + (Date.now() - receivedAt) / 1000;
  }

  async function api(method, path, body, headers) {
    const init = { method: method, credentials: "same-origin", headers: Object.assign({}, headers || {}) };
    if (csrf) init.headers["X-CSRF-Token"] = csrf;
    if (body !== undefined) {
      if (body instanceof Blob) { init.body = body; } else {
        init.body = JSON.stringify(body); init.headers["Content-Type"] = "application/json";
      }
    }
    const response = await fetch(path, init);
    let data = {};
    try { data = await response.json(); } catch (e) { data = {}; }
    return { status: response.status, data: data };
  }

  async function signIn() {
    const match = /(?:^#|&)t=([^&]+)/.exec(location.hash);
    let result;
    if (match) {
      const token = decodeURIComponent(match[1]);
      history.replaceState(null, "", location.pathname);  // the token leaves the address bar
      result = await api("POST", "/api/session", undefined, { Authorization: "Bearer " + token });
    } else {
      result = await api("GET", "/api/session");
    }
    if (result.status !== 200) {
      $("signin").classList.remove("hidden");
      $("signin-error").textContent = result.data.error || "";
      return false;
    }
    csrf = result.data.csrf;
    state.you = result.data.you;
    return true;
  }

  function connect() {
    source = new EventSource("/api/events");
    source.addEventListener("state", (e) => { apply(JSON.parse(e.data), true); });
    source.addEventListener("update", (e) => { apply(JSON.parse(e.data), false); });
    source.onopen = () => $("live").classList.add("on");
    source.onerror = () => $("live").classList.remove("on");
  }

  function apply(body, full) {
    receivedAt = Date.now();
    window.__drill.updates.push({ seq: body.run.seq, last_ts: body.run.last_ts, first_ts: body.first_ts || null,
      received: receivedAt, full: full });
    if (window.__drill.updates.length > 1000) window.__drill.updates.shift();
    if (full) { state.steps.clear(); state.order = []; }
    for (const step of body.steps || []) {
      if (!state.steps.has(step.id)) state.order.push(step.id);
      state.steps.set(step.id, step);
    }
    if (body.you) state.you = body.you;
    state.run = body.run; state.systems = body.systems; state.deviations = body.deviations;
    state.evidence = body.evidence || [];
    nowT = body.run.now_t || 0;
    render(full ? null : (body.steps || []).map((s) => s.id));
  }

  function render(changed) {
    renderHeader(); renderWaiting(); renderSystems(); renderDeviations(); renderSteps(changed); renderEvidence();
    document.body.dataset.seq = String(state.run.seq);
  }

  function renderHeader() {
    const run = state.run;
    document.title = (run.title || "bcdrill") + " — drill room";
    $("title").textContent = run.title || run.scenario || "bcdrill";
    const status = $("status");
    status.textContent = t(run.status) + (run.dry_run ? " (dry run)" : "");
    status.className = "badge " + run.status;
    $("phase").textContent = run.phase || "";
    const counts = Object.entries(run.counts || {}).map(([k, v]) => t(k) + " " + v).join(" · ");
    $("counts").textContent = counts;
    const you = state.you;
    if (you) {
      $("you").textContent = t("you") + ": " + you.name + " · " + (you.team || "–") + " · " + (you.role || "");
      $("commander").classList.toggle("hidden", !you.commander || run.finished);
    }
    $("hold").disabled = run.status !== "running";
    $("continue").disabled = run.status !== "held";
    tick();
  }

  function tick() {
    const run = state.run;
    if (run.t0_t === null || run.t0_t === undefined) { $("clock").textContent = "–"; return; }
    $("clock").textContent = dur(liveT() - run.t0_t);
    for (const node of document.querySelectorAll("[data-countdown]")) {
      const left = Number(node.dataset.countdown) - (liveT() - Number(node.dataset.at));
      node.textContent = dur(left);
    }
  }

  function mine(step) {
    const you = state.you;
    return you && step.status === "waiting" && !state.run.finished && (you.commander || (step.team && step.team === you.team));
  }

  function renderWaiting() {
    const waiting = state.order.map((id) => state.steps.get(id)).filter(mine);
    const ids = new Set(waiting.map((s) => s.id));
    for (const [id, card] of cards) if (!ids.has(id)) { cards.delete(id); retire(card); }
    for (const step of waiting) if (!cards.has(step.id)) cards.set(step.id, waitingCard(step));
    $("waiting-none").classList.toggle("hidden", waiting.length > 0);
  }

  // A card whose confirmation is in flight or was accepted stays on screen, disabled, for a few
  // seconds after its step leaves the waiting list: the runner often records the answer (and the
  // update removes the step) before the answer to the POST reaches this page.
  function retire(card) {
    if (!card.dataset.answered) { card.remove(); return; }
    card.classList.add("done");
    card.querySelectorAll("button, input, textarea").forEach((node) => { node.disabled = true; });
    setTimeout(() => card.remove(), 8000);
  }

  function waitingCard(step) {
    const form = $("waiting-card").content.firstElementChild.cloneNode(true);
    form.dataset.step = step.id;
    form.querySelector(".step-title").textContent = step.title;
    form.querySelector(".step-id").textContent = step.id;
    form.querySelector(".team").textContent = (state.run.teams || {})[step.team] || step.team || "";
    form.querySelector(".prompt").textContent = step.prompt || "";
    translate(form);
    const msg = form.querySelector(".msg");
    form.addEventListener("submit", (e) => { e.preventDefault(); confirmStep(form, step.id, msg); });
    const skip = form.querySelector(".skip");
    if (state.you && state.you.commander) {
      skip.classList.remove("hidden");
      skip.addEventListener("click", () => commanderStep("skip", step.id, msg));
    }
    $("waiting").appendChild(form);
    return form;
  }

  function say(msg, text, ok) { msg.textContent = text; msg.className = "msg " + (ok ? "ok" : "error"); }

  async function confirmStep(form, stepId, msg) {
    const result = form.querySelector("input[name=result]:checked").value;
    const note = form.querySelector("textarea[name=note]").value;
    const files = Array.from(form.querySelector("input[name=files]").files || []);
    const buttons = form.querySelectorAll("button");
    buttons.forEach((b) => { b.disabled = true; });
    form.dataset.answered = "1";
    try {
      const digests = [];
      if (files.length) say(msg, t("uploading"), true);
      for (const file of files) {
        const up = await api("POST", "/api/steps/" + encodeURIComponent(stepId) + "/evidence", file,
          { "X-File-Name": encodeURIComponent(file.name), "Content-Type": file.type || "application/octet-stream" });
        if (up.status >= 300) { say(msg, up.data.error || String(up.status), false); delete form.dataset.answered; return; }
        digests.push(up.data.sha256);
      }
      say(msg, t("sending"), true);
      const r = await api("POST", "/api/steps/" + encodeURIComponent(stepId) + "/ack",
        { result: result, note: note, evidence: digests });
      if (r.status === 200 || r.status === 202) {  // the card stays, disabled, a few seconds after the step stops waiting
        say(msg, t(r.status === 200 ? "sent" : "queued"), true);
        say($("waiting-msg"), form.querySelector(".step-title").textContent + " — " + t(result) + ": " + t(r.status === 200 ? "sent" : "queued"), true);
      }
      else { say(msg, r.data.error || String(r.status), false); delete form.dataset.answered; }
    } finally {
      if (!form.classList.contains("done")) buttons.forEach((b) => { b.disabled = false; });
    }
  }

  async function commanderStep(action, stepId, msg) {
    const reason = window.prompt(t("reason_prompt"));
    if (!reason) return;
    const path = "/api/steps/" + encodeURIComponent(stepId) + "/" + action.replace("_", "-");
    const r = await api("POST", path, { reason: reason });
    say(msg, r.status === 202 ? t("queued") : (r.data.error || String(r.status)), r.status === 202);
  }

  async function holdOrContinue(action) {
    const reason = $("hold-reason").value.trim();
    const r = await api("POST", "/api/" + action, { reason: reason });
    say($("commander-msg"), r.status === 202 ? t("queued") : (r.data.error || String(r.status)), r.status === 202);
    if (r.status === 202) $("hold-reason").value = "";
  }

  function renderSystems() {
    const box = $("systems");
    box.textContent = "";
    for (const s of state.systems) {
      const card = el("div", "system");
      card.dataset.system = s.id;
      card.appendChild(el("div", "name", s.title));
      card.appendChild(el("div", "muted", "RTO " + t("target") + " " + dur(s.rto_target)));
      if (s.recovered) {
        card.classList.add(s.rto_met === false ? "breached" : "recovered");
        card.appendChild(el("div", s.rto_met === false ? "bad" : "good", t("recovered") + " " + dur(s.rto_achieved)));
      } else {
        if (s.elapsed !== null) {
          const line = el("div", null, t("elapsed") + " " + dur(s.elapsed) + " · " + t("remaining") + " ");
          if (s.remaining !== null) {
            const left = el("b", null, dur(s.remaining));
            left.dataset.countdown = String(s.remaining); left.dataset.at = String(state.run.now_t);
            line.appendChild(left);
          }
          card.appendChild(line);
        }
        if (s.projected_rto !== null) card.appendChild(el("div", null, t("projected") + " RTO " + dur(s.projected_rto)));
        if (s.breached) { card.classList.add("breached"); card.appendChild(el("div", "bad", t("breached"))); }
        else if (s.predicted_breach) { card.classList.add("predicted"); card.appendChild(el("div", "warn", "⚠ " + t("breach_predicted"))); }
        else if (!s.recoverable && !state.run.finished) card.appendChild(el("div", "bad", t("not_recoverable")));
        if (s.critical_path && s.critical_path.length) card.appendChild(el("div", "path", t("critical") + ": " + s.critical_path.join(" → ")));
      }
      box.appendChild(card);
    }
  }

  function renderDeviations() {
    const list = $("deviations");
    list.textContent = "";
    if (!state.deviations.length) list.appendChild(el("li", "muted", t("no_deviations")));
    for (const d of state.deviations) {
      const kind = t(d.kind) !== d.kind ? t(d.kind) : d.kind.replace(/_/g, " ");
      list.appendChild(el("li", d.severity, "[" + d.severity + "] " + (d.ref ? d.ref + " " : "") + d.title + " — " + kind + (d.detail ? ": " + d.detail : "")));
    }
  }

  function stepRow(step) {
    const row = el("div", "step");
    row.dataset.step = step.id;
    row.appendChild(el("span", "st " + step.status, t(step.status)));
    row.appendChild(el("span", "name", step.title + " (" + step.id + ")"));
    const when = el("span", "when muted", step.duration !== null ? dur(step.duration) : (step.expect ? "~" + dur(step.expect) : ""));
    row.appendChild(when);
    const bits = [];
    if (step.team) bits.push((state.run.teams || {})[step.team] || step.team);
    if (step.runs_by && step.runs_by.length) bits.push(t("by") + " " + step.runs_by.join(", "));
    if (step.acks && step.acks.length) {
      const a = step.acks[step.acks.length - 1];
      bits.push(t(a.result) + " — " + a.by + " (" + a.via + ")" + (a.note ? ": " + a.note : ""));
    }
    if (step.lateness !== null && step.lateness > 1) bits.push(t("late") + " " + dur(step.lateness));
    if (step.overrun) bits.push("+" + dur(step.overrun));
    if (step.detail && step.status !== "ok") bits.push(step.detail);
    const meta = el("div", "meta", bits.join(" · "));
    if (step.lateness !== null && step.lateness > 1) meta.classList.add("late");
    row.appendChild(meta);
    if (state.you && state.you.commander && state.run.finished && state.run.status !== "complete") {
      const action = (step.status === "failed" || step.status === "timeout") ? "retry"
        : (step.status === "interrupted" ? "mark_done" : null);
      if (action) {
        const button = el("button", "small", t(action));
        const msg = el("span", "msg");
        button.type = "button";
        button.addEventListener("click", () => commanderStep(action, step.id, msg));
        meta.appendChild(button); meta.appendChild(msg);
      }
    }
    return row;
  }

  const rows = new Map();  // step id -> its row: updates replace rows without searching the page

  function renderSteps(changed) {
    const box = $("steps");
    if (changed === null) {
      box.textContent = ""; rows.clear();
      const frag = document.createDocumentFragment();
      for (const id of state.order) { const row = stepRow(state.steps.get(id)); rows.set(id, row); frag.appendChild(row); }
      box.appendChild(frag);
      return;
    }
    for (const id of changed) {
      const old = rows.get(id), row = stepRow(state.steps.get(id));
      rows.set(id, row);
      if (old) old.replaceWith(row); else box.appendChild(row);
    }
  }

  function renderEvidence() {
    const list = $("evidence");
    list.textContent = "";
    if (!state.evidence.length) list.appendChild(el("li", "muted", t("none")));
    for (const e of state.evidence) {
      const item = el("li", null, e.step + ": " + e.name + " (" + e.size + " B) — " + e.by + " ");
      item.appendChild(el("code", null, "sha256 " + e.sha256));
      list.appendChild(item);
    }
  }

  function translate(root) {
    for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
    for (const node of root.querySelectorAll("[data-i18n-placeholder]")) node.placeholder = t(node.dataset.i18nPlaceholder);
  }

  function setLang(next) {
    lang = next; localStorage.setItem("drill-lang", lang);
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    $("lang").textContent = lang === "zh" ? "English" : "中文";
    translate(document);
    for (const card of cards.values()) translate(card);
    if (state.run.seq !== undefined) render(null);
  }

  document.addEventListener("DOMContentLoaded", async () => {
    setLang(lang);
    $("lang").addEventListener("click", () => setLang(lang === "zh" ? "en" : "zh"));
    $("hold").addEventListener("click", () => holdOrContinue("hold"));
    $("continue").addEventListener("click", () => holdOrContinue("continue"));
    setInterval(tick, 1000);
    if (await signIn()) connect();
  });
})();
