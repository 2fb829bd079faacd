"""The studio's part of the share page: the "New routine" form and the script that drives it.

The script holds no timing rules: the total length comes from the server's
plan of the routine as edited, made by the same script builder as a build.
"""

from __future__ import annotations

STUDIO_STYLE = """
.studio summary { font-size: 1.15em; font-weight: 600; color: var(--text); }
.studio label { display: block; margin: 10px 0 4px; color: var(--muted); font-size: .9em; }
.studio select, .studio input { font: inherit; color: var(--text); background: #262f49; border: 1px solid #3a4566;
                                border-radius: 8px; padding: 8px; }
.studio select, .studio input[type=text] { width: 100%; }
.studio select.sides { width: auto; }
.studio input[type=number] { width: 4.2em; text-align: center; }
.stretch-rows { list-style: none; padding: 0; margin: 8px 0; }
.stretch-rows li { border-top: 1px solid #2d3858; padding: 10px 0; }
.stretch-rows li.excluded .settings { opacity: .4; }
.stretch-rows li.invalid { outline: 2px solid #e8877a; border-radius: 8px; }
.stretch-head { display: flex; align-items: center; gap: 8px; }
.stretch-head .name { flex: 1; }
.settings { display: flex; flex-wrap: wrap; gap: 10px 16px; margin-top: 8px; align-items: center; font-size: .9em; color: var(--muted); }
.stepper { display: inline-flex; gap: 4px; align-items: center; }
.studio button { font: inherit; color: var(--accent); background: #2d3858; border: 0; border-radius: 8px;
                 min-width: 2.4em; min-height: 2.4em; cursor: pointer; }
.studio button[type=submit] { width: 100%; margin-top: 12px; padding: 10px; font-weight: 600; }
.studio button:disabled { opacity: .5; }
.options { display: grid; grid-template-columns: 1fr 1fr; gap: 0 12px; }
.total { font-size: 1.1em; margin: 14px 0 4px; }
.total output { color: var(--accent); font-variant-numeric: tabular-nums; }
#studio-message { color: #f0a89c; min-height: 1.4em; margin: 6px 0; }
progress { width: 100%; }
"""

STUDIO_FORM = """<section class="routine studio" id="studio">
<details>
<summary>New routine</summary>
<form id="studio-form" novalidate>
<label for="studio-base">Start from</label>
<select id="studio-base" name="base"></select>
<label for="studio-title">Title</label>
<input id="studio-title" name="title" type="text" maxlength="80">
<ol class="stretch-rows" id="stretch-rows"></ol>
<div class="options">
<div><label for="studio-guidance">Guidance</label><select id="studio-guidance" name="guidance"></select></div>
<div><label for="studio-pace">Pace</label><select id="studio-pace" name="pace"></select></div>
<div><label for="studio-engine">Voice engine</label><select id="studio-engine" name="engine"></select></div>
<div><label for="studio-voice">Voice</label><select id="studio-voice" name="voice"></select></div>
</div>
<p class="total">Total length: <output id="studio-total">&ndash;</output></p>
<p id="studio-message" role="alert"></p>
<button type="submit" id="studio-build">Build</button>
<progress id="studio-progress" hidden></progress>
<p id="studio-status" class="meta" aria-live="polite"></p>
</form>
</details>
</section>
"""

STUDIO_SCRIPT = r"""
(() => {
const form = document.getElementById("studio-form");
if (!form) return;
const $ = id => document.getElementById(id);
const rows = $("stretch-rows"), total = $("studio-total"), message = $("studio-message");
let options = null, planTimer = null, planCount = 0;

async function getJSON(url, init) {
  const response = await fetch(url, init);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}
function fill(select, items, chosen) {
  select.replaceChildren(...items.map(([value, label]) => new Option(label, value, false, value === chosen)));
}
function clock(ms) {
  const s = Math.round(ms / 1000), h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, sec = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}
function element(tag, props, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}
function stepper(className, value, min, max, step, label) {
  const input = element("input", {type: "number", className, value, min, max, step: 1, inputMode: "numeric"});
  input.setAttribute("aria-label", label);
  const nudge = by => () => { input.value = Math.min(max, Math.max(min, Number(input.value) + by)); replan(); };
  const minus = element("button", {type: "button", textContent: "\u2212", onclick: nudge(-step)});
  const plus = element("button", {type: "button", textContent: "+", onclick: nudge(step)});
  minus.setAttribute("aria-label", label + " shorter");
  plus.setAttribute("aria-label", label + " longer");
  return element("span", {className: "stepper"}, minus, input, plus, " s");
}
function stretchRow(stretch) {
  const include = element("input", {type: "checkbox", className: "include", checked: true});
  include.setAttribute("aria-label", "Include " + stretch.name);
  const move = by => () => {
    const li = include.closest("li"), sibling = by < 0 ? li.previousElementSibling : li.nextElementSibling;
    if (sibling) { by < 0 ? sibling.before(li) : sibling.after(li); replan(); }
  };
  const up = element("button", {type: "button", textContent: "\u2191", onclick: move(-1)});
  const down = element("button", {type: "button", textContent: "\u2193", onclick: move(1)});
  up.setAttribute("aria-label", "Move " + stretch.name + " up");
  down.setAttribute("aria-label", "Move " + stretch.name + " down");
  const sides = element("select", {className: "sides"});
  fill(sides, options.sides.map(s => [s, s === "both" ? "each side" : "both at once"]), stretch.sides);
  const li = element("li", {},
    element("div", {className: "stretch-head"}, include, element("span", {className: "name", textContent: stretch.name}), up, down),
    element("div", {className: "settings"},
      element("span", {}, "Hold ", stepper("hold", stretch.hold_s, 1, 600, 5, "Hold for " + stretch.name)),
      element("span", {}, "Rest ", stepper("rest", stretch.rest_s, 0, 600, 5, "Rest after " + stretch.name)),
      sides));
  li.dataset.id = stretch.id;
  include.addEventListener("change", () => li.classList.toggle("excluded", !include.checked));
  return li;
}
function showBase() {
  const base = options.bases.find(b => b.key === form.base.value);
  form.title.value = base.title;
  rows.replaceChildren(...base.stretches.map(stretchRow));
  for (const name of ["guidance", "pace"]) if (base.settings[name]) form[name].value = base.settings[name];
  if (base.settings.engine && options.engines[base.settings.engine]) form.engine.value = base.settings.engine;
  showVoices(base.settings.voice);
}
function showVoices(chosen) {
  const voices = options.engines[form.engine.value] || [];
  fill(form.voice, [["", "default"], ...voices.map(v => [v.id, v.name])], chosen || "");
}
function included() { return [...rows.children].filter(li => li.querySelector(".include").checked); }
function currentForm() {
  return {
    base: form.base.value,
    title: form.title.value,
    stretches: included().map(li => ({
      id: li.dataset.id,
      hold: Number(li.querySelector(".hold").value),
      rest: Number(li.querySelector(".rest").value),
      sides: li.querySelector(".sides").value,
    })),
    settings: {guidance: form.guidance.value, pace: form.pace.value, engine: form.engine.value, voice: form.voice.value},
  };
}
function showProblem(error) {
  message.textContent = error ? error.message : "";
  for (const li of rows.children) li.classList.remove("invalid");
  const match = error && /^stretch\[(\d+)\]/.exec(error.message);
  if (match) included()[Number(match[1]) - 1]?.classList.add("invalid");
}
function replan() {
  clearTimeout(planTimer);
  planTimer = setTimeout(async () => {
    const asked = ++planCount;
    try {
      const plan = await getJSON("studio/plan?form=" + encodeURIComponent(JSON.stringify(currentForm())));
      if (asked !== planCount) return;
      total.textContent = clock(plan.duration_ms);
      total.dataset.ms = plan.duration_ms;
      showProblem(null);
    } catch (error) {
      if (asked !== planCount) return;
      total.textContent = "\u2013";
      delete total.dataset.ms;
      showProblem(error);
    }
  }, 200);
}
async function build(event) {
  event.preventDefault();
  const button = $("studio-build"), bar = $("studio-progress"), status = $("studio-status");
  button.disabled = true;
  try {
    let job = await getJSON("studio/build", {method: "POST", headers: {"content-type": "application/json"}, body: JSON.stringify(currentForm())});
    showProblem(null);
    bar.hidden = false;
    while (job.state === "queued" || job.state === "running") {
      status.textContent = job.state === "queued" ? "Waiting for another build to finish\u2026" : (job.stage || "Starting") + "\u2026";
      if (job.total) { bar.max = job.total; bar.value = job.done; } else bar.removeAttribute("value");
      await new Promise(resolve => setTimeout(resolve, 600));
      job = await getJSON("studio/jobs/" + job.id);
    }
    if (job.state === "failed") throw new Error(job.error);
    status.textContent = "Built. Opening it\u2026";
    location.hash = job.routine_id;
    location.reload();
  } catch (error) {
    showProblem(error);
    status.textContent = "";
    bar.hidden = true;
  } finally {
    button.disabled = false;
  }
}
getJSON("studio/options").then(loaded => {
  options = loaded;
  fill(form.base, options.bases.map(b => [b.key, b.label]));
  fill(form.guidance, options.guidance.map(g => [g, g]), "standard");
  fill(form.pace, options.pace.map(p => [p, p]), "calm");
  fill(form.engine, Object.keys(options.engines).map(e => [e, e === "piper" ? "Piper (natural)" : "espeak (pyttsx3)"]));
  showBase();
  form.dataset.ready = "true";
  replan();
}, showProblem);
form.base.addEventListener("change", () => { showBase(); replan(); });
form.engine.addEventListener("change", () => { showVoices(); replan(); });
form.addEventListener("input", replan);
form.addEventListener("change", replan);
form.addEventListener("submit", build);
})();
"""
