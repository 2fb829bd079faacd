// The studio's form. It holds no timing rules: the total length comes from the server's plan
// of the routine as edited, made by the same script builder as a build. The language picks a
// built-in's translation (its title and stretch names) and the voices that speak it.
(() => {
const form = document.getElementById("studio-form");
if (!form) return;
const $ = id => document.getElementById(id);
const rows = $("stretch-rows"), total = $("studio-total"), message = $("studio-message");
// Every setting the template shows is a select with data-setting; engine and voice depend on each other.
const settings = [...form.querySelectorAll("select[data-setting]")];
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
// The music's level in the holds, in LU under the voice: "−20 (default)".
function levelLabel(lu) {
  const levels = options.music_levels, loudest = levels[levels.length - 1];
  const note = lu === options.defaults.music_level ? " (default)" : lu === levels[0] ? " (quietest)" : lu === loudest ? " (loudest)" : "";
  return `\u2212${-lu}${note}`;
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
// A row's controls are labelled with its stretch's name ("{}"), which changes with the language.
function labelled(node, label) {
  node.dataset.label = label;
  return node;
}
function stepper(className, value, min, max, step, label) {
  const input = labelled(element("input", {type: "number", className, value, min, max, step: 1, inputMode: "numeric"}), label);
  const nudge = by => () => { input.value = Math.min(max, Math.max(min, Number(input.value) + by)); replan(); };
  const minus = labelled(element("button", {type: "button", textContent: "\u2212", onclick: nudge(-step)}), label + " shorter");
  const plus = labelled(element("button", {type: "button", textContent: "+", onclick: nudge(step)}), label + " longer");
  return element("span", {className: "stepper"}, minus, input, plus, " s");
}
function stretchRow(stretch) {
  const include = labelled(element("input", {type: "checkbox", className: "include", checked: true}), "Include {}");
  const move = by => () => {
    const li = include.closest("li"), sibling = by < 0 ? li.previousElementSibling : li.nextElementSibling;
    if (sibling) { by < 0 ? sibling.before(li) : sibling.after(li); replan(); }
  };
  const up = labelled(element("button", {type: "button", textContent: "\u2191", onclick: move(-1)}), "Move {} up");
  const down = labelled(element("button", {type: "button", textContent: "\u2193", onclick: move(1)}), "Move {} down");
  const sides = labelled(element("select", {className: "sides"}), "Sides for {}");
  fill(sides, options.sides.map(s => [s, s === "both" ? "each side" : "both at once"]), stretch.sides);
  const li = element("li", {},
    element("div", {className: "stretch-head"}, include, element("span", {className: "name"}), up, down),
    element("div", {className: "settings"},
      element("span", {}, "Hold ", stepper("hold", stretch.hold_s, 1, 600, 5, "Hold for {}")),
      element("span", {}, "Rest ", stepper("rest", stretch.rest_s, 0, 600, 5, "Rest after {}")),
      sides));
  li.dataset.id = stretch.id;
  nameRow(li, stretch.name);
  include.addEventListener("change", () => li.classList.toggle("excluded", !include.checked));
  return li;
}
function nameRow(li, stretchName) {
  li.querySelector(".name").textContent = stretchName;
  for (const node of li.querySelectorAll("[data-label]")) node.setAttribute("aria-label", node.dataset.label.replace("{}", stretchName));
}
function showSettings(chosen) {
  for (const select of settings) {
    const name = select.dataset.setting;
    if (name === "engine") {
      const engine = options.engines[chosen.engine] ? chosen.engine : options.defaults.engine;
      fill(select, Object.keys(options.engines).map(e => [e, options.engine_names[e]]), engine);
    } else if (name === "music") {
      fill(select, [["", "none"], ...options.music.map(file => [file, file])], chosen.music || "");
    } else if (name === "music_level") {
      const level = options.music_levels.includes(chosen.music_level) ? chosen.music_level : options.defaults.music_level;
      fill(select, options.music_levels.map(lu => [String(lu), levelLabel(lu)]), String(level));
    } else if (Array.isArray(options[name])) {
      fill(select, options[name].map(value => [value, value]), chosen[name] || options.defaults[name]);
    }
  }
  showVoices(chosen.voice);
}
// The voices that speak the chosen language (a voice file says none: the server asks its engine).
function showVoices(chosen) {
  const language = form.language.value, primary = language.split("-")[0].toLowerCase();
  const voices = (options.engines[form.engine.value] || []).filter(v => !v.languages.length || v.languages.includes(primary));
  const own = (options.default_voices[form.engine.value] || {})[language];
  fill(form.voice, [["", own ? `default: ${own}` : "default"], ...voices.map(v => [v.id, v.name])], chosen || "");
}
function currentBase() { return options.bases.find(b => b.key === form.base.value); }
function showBase() {
  const base = currentBase();
  const names = Object.fromEntries(options.languages.map(l => [l.tag, l.name]));
  fill(form.language, base.languages.map(tag => [tag, `${names[tag] || tag} (${tag})`]), base.language);
  form.title.value = base.title;
  rows.replaceChildren(...base.stretches.map(stretchRow));
  showSettings(base.settings);
  showLanguage();
}
// A built-in's translation brings its title (unless one was typed) and its stretch names.
function changeLanguage() {
  const base = currentBase(), before = base.translations[form.language.dataset.shown], after = base.translations[form.language.value];
  if (before && after) {
    if (form.title.value === before.title) form.title.value = after.title;
    for (const li of rows.children) if (after.names[li.dataset.id]) nameRow(li, after.names[li.dataset.id]);
  }
  showLanguage();
  showVoices(form.voice.value);
}
// The title and the stretch names are in the routine's language, for screen readers, hyphenation and fonts.
function showLanguage() {
  const language = form.language.value;
  form.language.dataset.shown = language;
  form.title.lang = language;
  for (const span of rows.querySelectorAll(".name")) span.lang = language;
}
function included() { return [...rows.children].filter(li => li.querySelector(".include").checked); }
function currentForm() {
  return {
    base: form.base.value,
    language: form.language.value,
    title: form.title.value,
    stretches: included().map(li => ({
      id: li.dataset.id,
      hold: Number(li.querySelector(".hold").value),
      rest: Number(li.querySelector(".rest").value),
      sides: li.querySelector(".sides").value,
    })),
    settings: Object.fromEntries(settings.map(select => [select.dataset.setting, select.value])),
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
  showBase();
  form.dataset.ready = "true";
  replan();
}, showProblem);
form.base.addEventListener("change", () => { showBase(); replan(); });
form.language.addEventListener("change", () => { changeLanguage(); replan(); });
form.engine.addEventListener("change", () => { showVoices(); replan(); });
form.addEventListener("input", replan);
form.addEventListener("change", replan);
form.addEventListener("submit", build);
})();
