// The suite in Locust's web UI (loaded by bss_loadtest/run/webui.py into Locust's index page).
//
// - A profile picker above Locust's start form: it shows the picked profile's stages and
//   thresholds and writes the name into Locust's own "Profile" field, which the form submits.
// - On the Stages tab (a Locust extra tab), a chart of the planned against the actual users.
// - A link to the run's report.html once its results are written.
//
// Every text from the server reaches the page through textContent; no markup is built from data.
(function () {
  "use strict";

  const script = document.currentScript;
  const STAGES_TAB = (script && script.dataset.stagesTab) || "bss-stages";
  const STATUS_POLL_MS = 2000;
  const SVG = "http://www.w3.org/2000/svg";

  let profiles = null; // the /bss/profiles answer, fetched once
  let status = null; // the last /bss/status answer
  let dismissed = null; // the run whose report link was closed

  // -- small DOM helpers --------------------------------------------------------------------

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (name === "text") node.textContent = value;
      else node.setAttribute(name, value);
    }
    for (const child of children || []) node.appendChild(child);
    return node;
  }

  function svg(tag, attrs) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (name === "text") node.textContent = value;
      else node.setAttribute(name, String(value));
    }
    return node;
  }

  // As bss_loadtest.core.profiles.format_duration (the CLI's): 19.2s, 2m, 7m20s, 2h10m.
  function seconds(value) {
    if (value === null || value === undefined) return "";
    const rounded = Math.round(value * 100) / 100;
    if (rounded < 60) return `${Number(rounded.toPrecision(6))}s`;
    const whole = Math.round(rounded);
    const parts = [
      [Math.floor(whole / 3600), "h"],
      [Math.floor((whole % 3600) / 60), "m"],
      [whole % 60, "s"],
    ];
    return parts
      .filter(([n]) => n)
      .map(([n, unit]) => `${n}${unit}`)
      .join("");
  }

  // Round tick values: multiples of 1, 2 or 5 times a power of ten, about `count` of them.
  function ticks(max, count) {
    const raw = max / count;
    const power = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 5, 10].map((m) => m * power).find((m) => m >= raw);
    const values = [];
    for (let v = 0; v <= max + step * 1e-9; v += step) values.push(Math.round(v * 1e6) / 1e6);
    return values;
  }

  function table(className, headers, rows) {
    const head = el("tr", {}, headers.map((h) => el("th", { text: h })));
    const body = rows.map((cells) => el("tr", {}, cells.map((c) => el("td", { text: String(c) }))));
    return el("table", { class: className }, [el("thead", {}, [head]), el("tbody", {}, body)]);
  }

  async function getJson(path) {
    const response = await fetch(path, { credentials: "same-origin", cache: "no-store" });
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
    return response.json();
  }

  // -- the profile picker -------------------------------------------------------------------

  function locustProfileField(form) {
    return form.querySelector("input[name=profile]");
  }

  // Write into Locust's own (React) Profile field as typing would, so React keeps the value.
  function setLocustProfile(field, value) {
    const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value").set;
    setter.call(field, value);
    field.dispatchEvent(new Event("input", { bubbles: true }));
    field.dispatchEvent(new FocusEvent("focusout", { bubbles: true })); // closes the option list
  }

  function onFail(threshold) {
    if (!threshold.abort_on_fail) return "fail the run";
    return threshold.delay_abort_eval_s ? `abort the run (after ${seconds(threshold.delay_abort_eval_s)})` : "abort the run";
  }

  function describeProfile(details, profile) {
    details.replaceChildren();
    if (!profile) return;
    details.appendChild(el("p", { class: "bss-description", text: profile.description || "" }));
    if (profile.error) {
      details.appendChild(el("p", { class: "bss-error", text: profile.error }));
      return;
    }
    if (profile.name === "manual") return;
    details.appendChild(
      el("p", {
        class: "bss-note",
        text:
          "The profile sets the users, the ramp up and the run time; the form's fields for them apply to manual only.",
      }),
    );
    const scale = profiles.time_scale;
    const scaled = scale !== 1 ? `, --time-scale ${scale}` : "";
    if (profile.scenarios && profile.scenarios.length) {
      details.appendChild(el("h4", { text: `Scenarios (${seconds(profile.total_duration_s)}${scaled})` }));
      details.appendChild(
        table(
          "bss-table bss-profile-scenarios",
          ["scenario", "executor", "from", "to", "users", "mix"],
          profile.scenarios.map((s) => [
            s.name,
            s.executor,
            seconds(s.start_s),
            seconds(s.end_s),
            s.users,
            s.mix ? Object.entries(s.mix).map(([k, v]) => `${k} ${v}`).join(", ") : "the profile's",
          ]),
        ),
      );
    } else {
      const total = `Stages (${seconds(profile.total_duration_s)}${scaled})`;
      details.appendChild(el("h4", { text: total }));
      details.appendChild(
        table(
          "bss-table bss-profile-stages",
          ["#", "from", "to", "duration", "users", "spawn rate"],
          profile.stages.map((s, i) => [
            i + 1,
            seconds(s.start_s),
            seconds(s.end_s),
            seconds(s.duration_s),
            s.from === s.target ? s.target : `${s.from} → ${s.target}`,
            s.spawn_rate === null ? "linear" : `${s.spawn_rate}/s`,
          ]),
        ),
      );
    }
    details.appendChild(el("h4", { text: "Thresholds" }));
    if (!profile.thresholds.length) {
      details.appendChild(el("p", { text: "none" }));
      return;
    }
    details.appendChild(
      table(
        "bss-table bss-profile-thresholds",
        ["metric", "threshold", "on fail"],
        profile.thresholds.map((t) => [t.metric, t.expression, onFail(t)]),
      ),
    );
  }

  function buildPicker(form) {
    const field = locustProfileField(form);
    const select = el("select", { id: "bss-profile-select", "aria-label": "Profile" });
    for (const profile of profiles.profiles) {
      select.appendChild(el("option", { value: profile.name, text: profile.name }));
    }
    const byName = Object.fromEntries(profiles.profiles.map((p) => [p.name, p]));
    const details = el("div", { class: "bss-profile-details" });
    const panel = el("section", { id: "bss-profile-panel", class: "bss-panel" }, [
      el("label", { for: "bss-profile-select", text: "Profile" }),
      select,
      details,
    ]);
    const initial = (field && field.value) || profiles.selected;
    select.value = byName[initial] ? initial : "manual";
    describeProfile(details, byName[select.value]);
    select.addEventListener("change", () => {
      describeProfile(details, byName[select.value]);
      const target = locustProfileField(form);
      if (target) setLocustProfile(target, select.value);
    });
    // Keep the picker in step when the profile is typed or picked in Locust's own field.
    const follow = setInterval(() => {
      if (!panel.isConnected) return clearInterval(follow);
      const target = locustProfileField(form);
      if (target && byName[target.value] && target.value !== select.value) {
        select.value = target.value;
        describeProfile(details, byName[select.value]);
      }
    }, 500);
    if (field && !field.value && select.value !== "manual") setLocustProfile(field, select.value);
    return panel;
  }

  function placePicker() {
    if (!profiles) return;
    for (const form of document.querySelectorAll("form")) {
      if (!locustProfileField(form)) continue; // the edit form of a running test has no profile
      const previous = form.previousElementSibling;
      if (previous && previous.id === "bss-profile-panel") continue;
      form.parentNode.insertBefore(buildPicker(form), form);
    }
  }

  // -- the Stages chart ---------------------------------------------------------------------

  function currentTab() {
    return new URLSearchParams(window.location.search).get("tab");
  }

  function drawChart(data) {
    const width = 900;
    const height = 260;
    const pad = { left: 48, right: 16, top: 16, bottom: 36 };
    const planned = data.planned || [];
    const actual = data.actual || [];
    const all = planned.concat(actual);
    const maxT = Math.max(1e-6, ...all.map((p) => p[0]));
    const maxU = Math.max(1, ...all.map((p) => p[1]));
    const x = (t) => pad.left + (t / maxT) * (width - pad.left - pad.right);
    const y = (u) => height - pad.bottom - (u / maxU) * (height - pad.top - pad.bottom);
    const chart = svg("svg", {
      viewBox: `0 0 ${width} ${height}`,
      class: "bss-chart",
      role: "img",
      "aria-label": "Planned and actual users over time",
    });
    chart.appendChild(
      svg("line", { x1: pad.left, y1: y(0), x2: width - pad.right, y2: y(0), class: "bss-axis" }),
    );
    chart.appendChild(svg("line", { x1: pad.left, y1: pad.top, x2: pad.left, y2: y(0), class: "bss-axis" }));
    for (const u of ticks(maxU, 4).filter((u) => Number.isInteger(u))) {
      chart.appendChild(svg("line", { x1: pad.left, y1: y(u), x2: width - pad.right, y2: y(u), class: "bss-grid" }));
      chart.appendChild(svg("text", { x: pad.left - 6, y: y(u) + 4, "text-anchor": "end", text: String(u) }));
    }
    for (const t of ticks(maxT, 6)) {
      chart.appendChild(svg("line", { x1: x(t), y1: y(0), x2: x(t), y2: y(0) + 5, class: "bss-axis" }));
      chart.appendChild(svg("text", { x: x(t), y: height - pad.bottom + 18, "text-anchor": "middle", text: seconds(t) }));
    }
    const line = (points, className) =>
      svg("polyline", { points: points.map((p) => `${x(p[0])},${y(p[1])}`).join(" "), class: className });
    if (planned.length) chart.appendChild(line(planned, "bss-planned"));
    // The users Locust ran are counted once a second: a step, as in report.html.
    const steps = actual.flatMap((p, i) => (i ? [[p[0], actual[i - 1][1]], p] : [p]));
    if (actual.length) chart.appendChild(line(steps, "bss-actual"));
    const legend = el("div", { class: "bss-legend" }, [
      el("span", { class: "bss-key bss-key-planned", text: "planned users" }),
      el("span", { class: "bss-key bss-key-actual", text: "actual users" }),
    ]);
    const caption = planned.length
      ? `Profile ${data.profile}: planned against actual users`
      : `Profile ${data.profile}: no stages (manual), actual users only`;
    return el("figure", { id: "bss-stages-chart", class: "bss-panel" }, [
      el("figcaption", { text: caption }),
      chart,
      legend,
    ]);
  }

  function placeChart() {
    const old = document.getElementById("bss-stages-chart");
    // On the Stages tab Locust renders the tab's table (its stage rows) in a container of its own.
    const stagesTable = currentTab() === STAGES_TAB ? document.querySelector("[role=tablist]") && document.querySelector("table") : null;
    if (!stagesTable || !status) {
      if (old) old.remove();
      return;
    }
    const chart = drawChart(status);
    const container = stagesTable.parentElement;
    if (old) old.replaceWith(chart);
    else container.parentNode.insertBefore(chart, container);
  }

  // -- the report link ----------------------------------------------------------------------

  function verdictText(verdicts) {
    const failed = verdicts.filter((t) => !t.passed).length;
    if (!verdicts.length) return "no thresholds";
    if (failed) return `${failed} of ${verdicts.length} threshold${verdicts.length > 1 ? "s" : ""} failed`;
    return verdicts.length > 1 ? `all ${verdicts.length} thresholds passed` : "the threshold passed";
  }

  // Below Locust's tab bar when there is one (nothing is covered), else in a corner of the page.
  function placeReportLink() {
    const old = document.getElementById("bss-report");
    if (!status || !status.report || dismissed === status.run_id) {
      if (old) old.remove();
      return;
    }
    const banner = el("aside", { id: "bss-report", class: "bss-panel", role: "status" }, [
      el("span", { text: `Run ${status.run_id} (${status.profile}) finished: ${verdictText(status.thresholds || [])}. ` }),
      el("a", { id: "bss-report-link", href: status.report, target: "_blank", rel: "noopener", text: "Open report.html" }),
      el("button", { type: "button", class: "bss-close", "aria-label": "Close", title: "Close", text: "×" }),
    ]);
    banner.querySelector("button").addEventListener("click", () => {
      dismissed = status.run_id;
      banner.remove();
    });
    const tabs = document.querySelector("[role=tablist]");
    const bar = tabs && tabs.closest(".MuiTabs-root") ? tabs.closest(".MuiTabs-root").parentElement : null;
    banner.classList.toggle("bss-floating", !bar);
    const where = bar ? old && old.previousElementSibling === bar : old && old.parentElement === document.body;
    if (where && old.textContent === banner.textContent) return;
    if (old) old.remove();
    if (bar) bar.after(banner);
    else document.body.appendChild(banner);
  }

  // -- the loop -----------------------------------------------------------------------------

  async function poll() {
    try {
      status = await getJson("./bss/status");
    } catch (error) {
      status = null;
    }
    placeReportLink();
    placeChart();
  }

  async function start() {
    try {
      profiles = await getJson("./bss/profiles");
    } catch (error) {
      console.warn("bss: no profiles", error);
    }
    new MutationObserver(() => {
      placePicker();
      const banner = document.getElementById("bss-report");
      if (status && status.report && (!banner || banner.classList.contains("bss-floating") === !!document.querySelector("[role=tablist]"))) placeReportLink();
      if (currentTab() === STAGES_TAB && status && !document.getElementById("bss-stages-chart")) placeChart();
      if (currentTab() !== STAGES_TAB && document.getElementById("bss-stages-chart")) placeChart();
    }).observe(document.body, { childList: true, subtree: true });
    placePicker();
    await poll();
    setInterval(poll, STATUS_POLL_MS);
  }

  start();
})();
